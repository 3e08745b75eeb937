/**
 * What a message is about; the console words each kind with its params. Its own module with no
 * imports, so the console (web/src/types.ts) offers exactly these kinds as filters without
 * bundling any server code.
 */
export const MESSAGE_KINDS = [
  'application_decide',
  'application_security_review',
  'application_approved',
  'application_rejected',
  'report_due',
  'report_overdue',
  'catalog_review',
  'catalog_regraded',
  'alerts_open',
  'contract_expiring',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
