import type { Config } from '../core/config.ts';
import { cliCtx } from '../core/context.ts';
import type { Db } from '../core/db.ts';
import { newId } from '../core/ids.ts';
import * as outbox from '../core/outbox.ts';
import { STAFF_ROLES } from '../core/tables.ts';
import * as identity from '../identity/service.ts';
import * as indicators from '../indicators/service.ts';
import type { MessageKind } from './kinds.ts';
import { currentMessages } from './service.ts';
import { type MessagePushRow, type PushPayload, messagesStore as store } from './store.ts';
import { messageText } from './text.ts';

/**
 * Messages pushed outside the platform (issue 23): each run works out, for every user who can get
 * them, their current messages of the pushed kinds — as the message centre shows them to the user,
 * computed as the user — queues each (user, message key) once in message_pushes, and posts what
 * is owed to the bureau's unified messaging gateway (MESSAGES_WEBHOOK_URL) through core/outbox.ts,
 * like the monitor's alert webhook. The gateway turns a recipient (user id, name, organization)
 * into a phone number or a mailbox from its own directory: the platform keeps and sends no
 * contact details.
 *
 * Without MESSAGES_WEBHOOK_URL nothing is computed, queued or posted; messages that are current
 * when it is set are pushed then. Every node runs the job: the unique (user, key) makes a second
 * node's queueing a no-op and a claim makes one node post each row.
 */

/** Reminders of reports due and overdue; other kinds may join (their users then need PUSH_ROLES). */
export const PUSHED_KINDS: ReadonlySet<MessageKind> = new Set(['report_due', 'report_overdue']);
/** Who may have pushed messages: the reporters (the message centre asks each source anyway). */
const PUSH_ROLES = indicators.REPORTERS.roles === 'any' ? STAFF_ROLES : indicators.REPORTERS.roles;
/** Rows per insert, well below PostgreSQL's bound on parameters. */
const QUEUE_CHUNK = 500;

export const messagePayload = (row: MessagePushRow) => ({
  type: 'shutong.message',
  ...row.payload,
  attempt: row.notify_attempts,
});

const pushOutbox: outbox.Outbox<MessagePushRow> = {
  name: 'message',
  idHeader: 'x-shutong-message',
  claim: store.claimPushes,
  markDelivered: store.markPushed,
  markUndelivered: store.markNotPushed,
  claims: (row) => row.notify_attempts,
  body: messagePayload,
  // The kind only: a recipient's name or a message's text is no business of the log.
  describe: (row) => ({ kind: row.kind }),
};

export interface PushResult {
  users: number;
  /** Current messages of the pushed kinds, queued now or before. */
  current: number;
  claimed: number;
}

/**
 * One run of the push (src/background.ts, every few minutes on every node; tests call it). Queues
 * what is new, forgets what is gone, then posts batches until nothing is left to claim now.
 */
export async function pushMessages(
  db: Db,
  config: Config,
  log: outbox.OutboxLog,
  tuning: outbox.OutboxTuning = outbox.OUTBOX_TUNING,
  now = new Date(),
): Promise<PushResult> {
  const url = config.messagesWebhookUrl;
  if (!url) return { users: 0, current: 0, claimed: 0 };
  const users = await identity.activeUsersWithRoles(db, PUSH_ROLES);
  const current = new Map<string, string[]>();
  const rows: Array<{ id: string; user_id: string; key: string; kind: string; payload: PushPayload }> = [];
  for (const user of users) {
    const { principal } = user;
    let messages: Awaited<ReturnType<typeof currentMessages>>;
    try {
      messages = await currentMessages(cliCtx(db, config, principal), principal, now, PUSHED_KINDS);
    } catch (error) {
      // One user's sources failing holds up nobody else; their queued rows are kept as they are.
      log.warn({ user: principal.userId, err: error }, 'messages to push could not be worked out');
      continue;
    }
    current.set(
      principal.userId,
      messages.map((m) => m.key),
    );
    for (const m of messages) {
      rows.push({
        id: newId('msp'),
        user_id: principal.userId,
        key: m.key,
        kind: m.kind,
        payload: {
          recipient: {
            userId: principal.userId,
            displayName: user.displayName,
            organization: { id: principal.orgId, name: user.orgName },
          },
          message: { kind: m.kind, key: m.key, ...messageText(m), link: `${config.publicUrl ?? ''}${m.to}` },
        },
      });
    }
  }
  await store.prunePushes(
    db,
    current,
    users.map((u) => u.principal.userId),
  );
  for (let i = 0; i < rows.length; i += QUEUE_CHUNK)
    await store.queuePushes(db, rows.slice(i, i + QUEUE_CHUNK));
  // Batches until one comes back short; at most as many as the current messages fill (plus one),
  // so rows failing again and again cannot keep a run going.
  let claimed = 0;
  for (let left = Math.ceil(rows.length / tuning.batch) + 1; left > 0; left--) {
    const batch = await outbox.deliverPending(db, url, pushOutbox, log, tuning);
    claimed += batch;
    if (batch < tuning.batch) break;
  }
  return { users: current.size, current: rows.length, claimed };
}
