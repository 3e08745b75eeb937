/**
 * The citizen site's two languages (locales.ts): Simplified Chinese first, English by the switch
 * in the header, remembered with the staff console's choice. An i18next instance of its own, so
 * the site's words never mix with the console's.
 */
import { createInstance } from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en, zh } from './locales.ts';

const LANG_KEY = 'shutong.lang';
export type Lang = 'zh-CN' | 'en';

const storage = (
  globalThis as {
    localStorage?: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  }
).localStorage;

function initialLanguage(): Lang {
  try {
    return storage?.getItem(LANG_KEY) === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

export const i18n = createInstance();
void i18n.use(initReactI18next).init({
  resources: { 'zh-CN': { translation: zh }, en: { translation: en } },
  lng: initialLanguage(),
  fallbackLng: 'zh-CN',
  interpolation: { escapeValue: false },
  returnNull: false,
  nsSeparator: false,
  initAsync: false,
});

export function setLanguage(lang: Lang): void {
  try {
    storage?.setItem(LANG_KEY, lang);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  void i18n.changeLanguage(lang);
}
