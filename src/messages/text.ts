import type { MessageKind } from './kinds.ts';
import type { Message } from './service.ts';

/**
 * A message worded in Chinese and English for a text message or an e-mail sent by the messaging
 * gateway: the console's words (web/src/locales.ts, notify.*) from the same params, since the
 * gateway has no console to word them.
 */
const WORDS: Record<MessageKind, { zh: string; en: string }> = {
  application_decide: { zh: '审批“{resource}”的共享申请', en: 'Decide the application for “{resource}”' },
  application_security_review: {
    zh: '安全审查“{resource}”的共享申请',
    en: 'Security review of the application for “{resource}”',
  },
  application_approved: {
    zh: '“{resource}”的申请已批准，协议已生效',
    en: 'Your application for “{resource}” was approved; the contract is in force',
  },
  application_rejected: {
    zh: '“{resource}”的申请被驳回',
    en: 'Your application for “{resource}” was rejected',
  },
  report_due: {
    zh: '报送“{form}”{period}（应于 {date} 前）',
    en: 'Submit “{formEn}” {period} (due by {date})',
  },
  report_overdue: {
    zh: '报送“{form}”{period}（已逾期，应于 {date} 前）',
    en: 'Submit “{formEn}” {period} (overdue: was due by {date})',
  },
  catalog_review: {
    zh: '目录审核：{provider}“{resource}”',
    en: 'Catalog review: “{resource}” of {provider}',
  },
  catalog_regraded: {
    zh: '分级变更待重新确认：{provider}“{resource}”',
    en: 'Grades changed, confirm again: “{resource}” of {provider}',
  },
  alerts_open: { zh: '{count} 条未处理告警', en: '{count} open alerts' },
  contract_expiring: {
    zh: '“{resource}”的使用协议将于 {date} 到期',
    en: 'The contract for “{resource}” ends on {date}',
  },
};

function fill(template: string, params: Message['params']): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    // A date-time (a contract's end) reads as its day.
    return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)
      ? value.slice(0, 10)
      : String(value);
  });
}

export function messageText(message: Pick<Message, 'kind' | 'params'>): { zh: string; en: string } {
  const words = WORDS[message.kind];
  return { zh: fill(words.zh, message.params), en: fill(words.en, message.params) };
}
