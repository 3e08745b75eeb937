import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import QRCode from 'qrcode';
import { AppError } from './errors.ts';

/**
 * Printable PDFs with Chinese text (pdfmake). The CJK font is WenQuanYi Micro Hei from the Debian
 * package fonts-wqy-microhei (CI installs it; PDF_CJK_FONT names another TrueType file or
 * collection). pdfmake embeds the subset of glyphs used, so a document prints anywhere. Without
 * the font the PDF is refused (a PDF without glyphs for its text would look broken): 503
 * PDF_FONT_MISSING, naming the file looked for.
 */

export const DEFAULT_CJK_FONT = '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc';
const POSTSCRIPT_NAME = 'WenQuanYiMicroHei';

// pdfmake is loaded without its typings: @types/pdfmake pulls the DOM library into the whole
// program (and changes what `fetch` accepts everywhere). This is the part used here.
interface PdfMake {
  addFonts(fonts: Record<string, Record<string, unknown>>): void;
  setUrlAccessPolicy(policy: (url: string) => boolean): void;
  setLocalAccessPolicy?(policy: (path: string) => boolean): void;
  createPdf(doc: Record<string, unknown>): { getBuffer(): Promise<Buffer> };
}

let configuredFont: string | null = null;

export function cjkFontFile(): string {
  return process.env.PDF_CJK_FONT || DEFAULT_CJK_FONT;
}

export function cjkFontAvailable(): boolean {
  return existsSync(cjkFontFile());
}

function printer(): PdfMake {
  const pm = createRequire(import.meta.url)('pdfmake') as PdfMake;
  const file = cjkFontFile();
  if (configuredFont !== file) {
    // A collection (.ttc) names the face inside it; a plain .ttf needs no name.
    const face = file.endsWith('.ttc') ? [file, POSTSCRIPT_NAME] : file;
    pm.addFonts({ CJK: { normal: face, bold: face, italics: face, bolditalics: face } });
    // Documents are built from our own records: no network and no files but the font.
    pm.setUrlAccessPolicy(() => false);
    pm.setLocalAccessPolicy?.((p: string) => p === file);
    configuredFont = file;
  }
  return pm;
}

/** Renders a pdfmake document definition with the CJK font as default. */
export async function renderPdf(doc: Record<string, unknown>): Promise<Buffer> {
  if (!cjkFontAvailable()) throw new AppError('PDF_FONT_MISSING', { font: cjkFontFile() });
  const defaultStyle = { font: 'CJK', fontSize: 10, ...((doc.defaultStyle as object) ?? {}) };
  return printer()
    .createPdf({ pageSize: 'A4', ...doc, defaultStyle })
    .getBuffer();
}

/** A QR code as a PNG data URL (for PDFs) or an SVG string (for web pages). */
export function qrPng(text: string, width = 240): Promise<string> {
  return QRCode.toDataURL(text, { margin: 1, width, errorCorrectionLevel: 'M' });
}

export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
}

/** Escapes text for HTML element content and attribute values. */
export function html(text: unknown): string {
  return String(text ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
