/**
 * 差评整改 (issue 22): the rectification cases bad ratings open at the rated step's department.
 * The list holds the reader's department's cases (all of them for the platform) with their state,
 * the step and service rated, the Beijing-date deadline and, past it, by how many working days.
 * One case shows the rating in words, the notes of each move with who made it and when, and only
 * the moves CASE_LIFECYCLE allows from the case's state to the reader: the department verifies or
 * appeals, rectifies or explains and closes; the platform upholds or dismisses an appeal. Each move
 * asks for its note; closing a named rating's case asks for the return visit's note too.
 */
import { App, Button, Card, Checkbox, Descriptions, Empty, Space, Tag, Timeline, Typography } from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import {
  ErrorAlert,
  ListTable,
  Mono,
  NotLoaded,
  Pager,
  PageTitle,
  StateFilter,
  StateTag,
} from '../components/common.tsx';
import { cursorToolbar } from '../components/TableToolbar.tsx';
import { useCursorPages, useDetail, useLoader, useUsernames } from '../hooks.ts';
import { Link } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type {
  CaseBody,
  CaseEvent,
  CaseNote,
  CaseState,
  Me,
  Page,
  Rating,
  RectificationCase,
  ServiceApplication,
} from '../types.ts';
import { APPEAL_REVIEWS, CASE_EVENTS, CASE_STATES, caseMoves } from '../types.ts';
import { ReasonModal } from './Applications.tsx';
import { Deadline } from './Cases.tsx';

const caseUrl = (id: string) => `/v1/ratings/cases/${encodeURIComponent(id)}`;

/**
 * Who makes a move: an appeal's review is the platform's (APPEAL_REVIEWERS), the rest the case's
 * department's staff (CASE_HANDLERS) — as the server decides it.
 */
function movesOf(me: Me, c: RectificationCase): CaseEvent[] {
  const reviewer = hasRole(me, 'platform_admin');
  const handler = c.orgId === me.organization.id && hasRole(me, 'org_admin', 'data_steward', 'consumer');
  return caseMoves(c.state).filter((event) =>
    (APPEAL_REVIEWS as readonly CaseEvent[]).includes(event) ? reviewer : handler,
  );
}

/** The rating behind a case and the application it rated (which names the step and the service). */
function useRated(ratingId: string | undefined) {
  const loadRating = useCallback(
    (signal: AbortSignal) =>
      api.get<Rating>(`/v1/ratings/${encodeURIComponent(ratingId!)}`, undefined, signal),
    [ratingId],
  );
  const rating = useLoader(ratingId ? loadRating : null);
  const applicationId = rating.data?.applicationId;
  const loadApplication = useCallback(
    (signal: AbortSignal) =>
      api.get<ServiceApplication>(
        `/v1/services/applications/${encodeURIComponent(applicationId!)}`,
        undefined,
        signal,
      ),
    [applicationId],
  );
  const application = useLoader(applicationId ? loadApplication : null);
  const step = application.data?.steps.find((s) => s.key === rating.data?.step);
  return { rating, application, stepName: step?.name ?? rating.data?.step, step };
}

function CaseStateTag({ state }: { state: CaseState }) {
  const { t } = useTranslation();
  return <StateTag state={state} label={t(`rectification.state.${state}`)} />;
}

/** The case's deadline and, while it is open past it, by how many working days. */
function CaseDeadline({ c }: { c: RectificationCase }) {
  return <Deadline dueOn={c.dueOn} late={c.overdue ? c.workingDaysOverdue : null} />;
}

/** A list row's link: the rated step and its service, once the rating is read (the case id until then). */
function RatedStep({ c }: { c: RectificationCase }) {
  const { rating, application, stepName } = useRated(c.ratingId);
  return (
    <Space direction="vertical" size={0}>
      <Link to={`/rectification/${c.id}`}>{stepName ?? <Mono>{c.id}</Mono>}</Link>
      {application.data ? (
        <Typography.Text type="secondary">{application.data.bundle.name}</Typography.Text>
      ) : null}
      {rating.data ? <LevelText level={rating.data.level} /> : null}
    </Space>
  );
}

function LevelText({ level }: { level: number }) {
  const { t } = useTranslation();
  return <span>{t('rectification.levelScore', { level, name: t(`rectification.level.${level}`) })}</span>;
}

export function Rectification() {
  const { t } = useTranslation();
  const [state, setState] = useState<CaseState | undefined>();
  const [overdue, setOverdue] = useState(false);
  const fetchPage = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      api.get<Page<RectificationCase>>(
        '/v1/ratings/cases',
        { limit: 20, cursor, state, overdue: overdue || undefined },
        signal,
      ),
    [state, overdue],
  );
  const pages = useCursorPages(fetchPage);
  return (
    <>
      <PageTitle title={t('nav.rectification')} sub={t('rectification.sub')} help="rectification" />
      <Card>
        <Space wrap align="center" style={{ marginBottom: 12 }}>
          <StateFilter<CaseState>
            id="rectification-state"
            label={t('rectification.filterState')}
            states={CASE_STATES}
            value={state}
            onChange={setState}
            labelOf={(s) => t(`rectification.state.${s}`)}
          />
          <Checkbox
            checked={overdue}
            onChange={(e) => setOverdue(e.target.checked)}
            style={{ marginBottom: 12 }}
          >
            {t('rectification.overdueOnly')}
          </Checkbox>
        </Space>
        <ErrorAlert error={pages.error} onRetry={pages.reload} />
        <ListTable<RectificationCase>
          toolbar={cursorToolbar('rectification', pages)}
          loading={pages.loading}
          dataSource={pages.items}
          empty={t('rectification.none')}
          columns={[
            // The rated step's name is read row by row as it shows; the export names the case.
            {
              title: t('rectification.col.step'),
              render: (_: unknown, c) => <RatedStep c={c} />,
              exportValue: (c) => c.id,
            },
            {
              title: t('rectification.col.state'),
              render: (_: unknown, c) => <CaseStateTag state={c.state} />,
              exportValue: (c) => t(`rectification.state.${c.state}`),
            },
            {
              title: t('rectification.col.dueOn'),
              render: (_: unknown, c) => <CaseDeadline c={c} />,
              exportValue: (c) => c.dueOn,
            },
            { title: t('rectification.col.openedOn'), dataIndex: 'openedOn' },
          ]}
        />
        <Pager {...pages} />
      </Card>
    </>
  );
}

/** A note's place in the history: by day, and within a day in the order a case meets its moves. */
const NOTE_ORDER: readonly string[] = [...CASE_EVENTS.filter((e) => e !== 'close'), 'returnVisit', 'close'];
const noteOrder = ([a, x]: [string, CaseNote], [b, y]: [string, CaseNote]) =>
  x.on.localeCompare(y.on) || NOTE_ORDER.indexOf(a) - NOTE_ORDER.indexOf(b);

/** Each move's note with who made it and on which (Beijing) day. */
function NotesHistory({ notes }: { notes: RectificationCase['notes'] }) {
  const { t } = useTranslation();
  const entries = Object.entries(notes).sort(noteOrder);
  const names = useUsernames(entries.map(([, n]) => n.by));
  if (entries.length === 0) return <Empty description={t('rectification.noNotes')} />;
  return (
    <Timeline
      items={entries.map(([key, n]) => ({
        key,
        children: (
          <Space direction="vertical" size={0} data-testid={`note-${key}`}>
            <Typography.Text strong>
              {t(`rectification.note.${key}`, { defaultValue: key })} · {names.get(n.by) ?? n.by}
            </Typography.Text>
            <Typography.Text type="secondary">{n.on}</Typography.Text>
            <Typography.Text>{n.note}</Typography.Text>
          </Space>
        ),
      }))}
    />
  );
}

/**
 * The indicators in the order of the national 好差评 forms (INDICATORS in src/ratings/service.ts,
 * online then offline); the API sends them as a map, whose order the database does not keep.
 */
const INDICATOR_ORDER: readonly string[] = [
  'efficiency',
  'guideAccuracy',
  'convenience',
  'usability',
  'serviceLevel',
  'attitude',
];
const indicatorRank = (name: string) =>
  INDICATOR_ORDER.includes(name) ? INDICATOR_ORDER.indexOf(name) : INDICATOR_ORDER.length;
const byIndicatorOrder = ([a]: [string, number], [b]: [string, number]) =>
  indicatorRank(a) - indicatorRank(b);

/** The rating in words: overall level, each indicator's score, the citizen's text, named or not. */
function RatingCard({
  rating,
  step,
}: {
  rating: Rating;
  step: ServiceApplication['steps'][number] | undefined;
}) {
  const { t } = useTranslation();
  return (
    <Card title={t('rectification.section.rating')} style={{ marginBottom: 16 }} data-testid="rating">
      <Descriptions
        column={1}
        size="small"
        items={[
          {
            key: 'level',
            label: t('rectification.level.title'),
            children: <LevelText level={rating.level} />,
          },
          ...Object.entries(rating.indicators)
            .sort(byIndicatorOrder)
            .map(([name, score]) => ({
              key: name,
              label: t(`rectification.indicator.${name}`, { defaultValue: name }),
              children: <LevelText level={score} />,
            })),
          { key: 'text', label: t('rectification.text'), children: rating.text ?? '—' },
          {
            key: 'named',
            label: t('rectification.rater'),
            children: rating.named ? (
              <Tag color="blue">{t('rectification.named')}</Tag>
            ) : (
              <Tag>{t('rectification.anonymous')}</Tag>
            ),
          },
          {
            key: 'channel',
            label: t('rectification.channel.title'),
            children: t(`rectification.channel.${rating.channel}`, { defaultValue: rating.channel }),
          },
          { key: 'ratedOn', label: t('rectification.ratedOn'), children: rating.ratedOn },
          { key: 'department', label: t('cases.col.department'), children: step?.orgName ?? rating.orgId },
          {
            key: 'application',
            label: t('rectification.application'),
            children: <Link to={`/cases/${rating.applicationId}`}>{rating.applicationId}</Link>,
          },
        ]}
      />
    </Card>
  );
}

export function RectificationDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const loaded = useDetail<RectificationCase>(caseUrl(id));
  const { rating, application, stepName, step } = useRated(loaded.data?.ratingId);
  const [acting, setActing] = useState<CaseEvent | null>(null);
  const c = loaded.data;
  if (!c) return <NotLoaded loaded={loaded} rows={10} />;

  const moves = movesOf(me, c);
  // A named rating's case closes only after the return visit: its note is asked for with the close.
  const asksVisit = acting === 'close' && c.returnVisit;
  return (
    <>
      <PageTitle
        help="rectificationCase"
        title={
          <>
            {t('rectification.title')} · {stepName ?? <Mono>{c.id}</Mono>}
          </>
        }
        sub={
          <Space wrap>
            <CaseStateTag state={c.state} />
            {application.data ? <span>{application.data.bundle.name}</span> : null}
            <span>{t('rectification.openedOn', { date: c.openedOn })}</span>
            <span>
              {t('rectification.col.dueOn')} <CaseDeadline c={c} />
            </span>
            {c.returnVisit ? <Tag color="gold">{t('rectification.needsVisit')}</Tag> : null}
          </Space>
        }
        extra={moves.map((event) => (
          <Button
            key={event}
            type={event === 'appeal' || event === 'uphold' ? 'default' : 'primary'}
            onClick={() => setActing(event)}
          >
            {t(`rectification.action.${event}`)}
          </Button>
        ))}
      />
      <ErrorAlert error={loaded.error ?? rating.error} onRetry={loaded.reload} />
      {rating.data ? <RatingCard rating={rating.data} step={step} /> : null}
      <Card title={t('rectification.section.notes')}>
        <NotesHistory notes={c.notes} />
      </Card>
      <ReasonModal
        open={acting !== null}
        title={acting ? `${t(`rectification.action.${acting}`)} · ${stepName ?? c.id}` : ''}
        okText={acting ? t(`rectification.action.${acting}`) : ''}
        text={{ label: t('rectification.noteLabel'), required: t('rectification.noteRequired') }}
        also={
          asksVisit
            ? { label: t('rectification.visitLabel'), required: t('rectification.visitRequired') }
            : undefined
        }
        onClose={() => setActing(null)}
        onSubmit={async (note, returnVisit) => {
          const body: CaseBody = returnVisit ? { note, returnVisit } : { note };
          await api.post(`${caseUrl(c.id)}/${acting}`, body);
          message.success(t('rectification.moved', { action: t(`rectification.note.${acting}`) }));
          setActing(null);
          loaded.reload();
          rating.reload();
        }}
      />
    </>
  );
}
