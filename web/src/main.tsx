import { App as AntApp, ConfigProvider, unstableSetRender } from 'antd';
// The ES modules: antd/locale/* are CommonJS wrappers whose default import is `{ default: … }`,
// which leaves antd's own texts (and the table's expand-button labels) unset.
import enUS from 'antd/es/locale/en_US';
import zhCN from 'antd/es/locale/zh_CN';
import { StrictMode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { useTranslation } from 'react-i18next';
import { Shell } from './App.tsx';
import './i18n.ts';
import './styles.css';
import { SessionProvider } from './session.tsx';

// Ant Design 5 renders its pop-ups (wave effect, static holders) with the React 18 API; React 19
// removed it, and this is antd's documented bridge.
const roots = new WeakMap<Element | DocumentFragment, Root>();
unstableSetRender((node, container) => {
  let root = roots.get(container);
  if (!root) {
    root = createRoot(container);
    roots.set(container, root);
  }
  root.render(node);
  return async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    root.unmount();
    roots.delete(container);
  };
});

function Console() {
  const { i18n } = useTranslation();
  return (
    <ConfigProvider
      locale={i18n.language === 'en' ? enUS : zhCN}
      theme={{ token: { colorPrimary: '#0958d9', borderRadius: 6 } }}
      // "撤销", not "撤 销": the gap antd puts into two-character labels also reaches screen readers.
      button={{ autoInsertSpace: false }}
    >
      <AntApp>
        <SessionProvider>
          <Shell />
        </SessionProvider>
      </AntApp>
    </ConfigProvider>
  );
}

const element = document.getElementById('root');
if (element) {
  createRoot(element).render(
    <StrictMode>
      <Console />
    </StrictMode>,
  );
}
