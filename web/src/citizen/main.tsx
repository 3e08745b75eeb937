import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nextProvider } from 'react-i18next';
import { Site } from './App.tsx';
import { i18n } from './i18n.ts';
import './citizen.css';
import { SessionProvider } from './session.tsx';

const element = document.getElementById('root');
if (element) {
  createRoot(element).render(
    <StrictMode>
      <I18nextProvider i18n={i18n}>
        <SessionProvider>
          <Site />
        </SessionProvider>
      </I18nextProvider>
    </StrictMode>,
  );
}
