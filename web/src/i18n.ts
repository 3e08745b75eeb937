/**
 * The console's two languages (locales.ts): Simplified Chinese by default, English by the switch
 * in the header, remembered in localStorage.
 */
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en, zh } from './locales.ts';

const LANG_KEY = 'shutong.lang';
export type Lang = 'zh-CN' | 'en';

// The browser's storage; absent where this module is loaded outside a page (the i18n tests under Node).
const storage = (
  globalThis as {
    localStorage?: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  }
).localStorage;

export const resources = { 'zh-CN': { translation: zh }, en: { translation: en } };

function initialLanguage(): Lang {
  try {
    return storage?.getItem(LANG_KEY) === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

void i18n.use(initReactI18next).init({
  resources,
  lng: initialLanguage(),
  fallbackLng: 'zh-CN',
  interpolation: { escapeValue: false },
  returnNull: false,
  // Keys such as scope.catalog:read contain a colon; it is not a namespace separator here.
  nsSeparator: false,
});

export function setLanguage(lang: Lang): void {
  try {
    storage?.setItem(LANG_KEY, lang);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  void i18n.changeLanguage(lang);
}

export default i18n;
