import { BellOutlined } from '@ant-design/icons';
import { Badge, Button, Empty, Flex, List, Popover, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { fmtDateTime } from '../format.ts';
import { useLoader, useResources } from '../hooks.ts';
import type { Reminders } from '../pages/Indicators.tsx';
import { Link, useLocation } from '../router.tsx';
import { hasRole } from '../session.tsx';
import type { Application, Me, MonitorAlert, Page, Resource } from '../types.ts';

interface Note {
  key: string;
  text: string;
  to: string;
  at?: string;
}

const seenKey = (me: Me) => `shutong.notifications.seen.${me.user.id}`;
const POLL_MS = 60_000;

/** The newest decision on an application (what its applicant is told about). */
function decidedAt(app: Application): string | undefined {
  return app.decisions.at(-1)?.at;
}

/**
 * The header's bell: what waits for this user (applications to decide, open alerts) and what
 * happened to this organization's own applications since the user last looked (approved or
 * rejected). Read from the same API the pages use, again on every page change and each minute.
 */
export function Notifications({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const { pathname } = useLocation();
  const alertReader = hasRole(me, 'security_officer', 'platform_admin', 'auditor');
  const reporter = hasRole(me, 'data_steward', 'org_admin', 'platform_admin');
  const bureau = hasRole(me, 'platform_admin');
  const load = useCallback(
    async (signal: AbortSignal) => {
      const [applications, alerts, reports, reviews, regraded] = await Promise.all([
        api.get<Page<Application>>('/v1/applications', { limit: 200 }, signal),
        alertReader
          ? api.get<Page<MonitorAlert>>('/v1/monitor/alerts', { state: 'open', limit: 200 }, signal)
          : null,
        // An organization that is no reporting unit (no division code of a level) has none: 400.
        reporter ? api.get<Reminders>('/v1/forms/reminders', undefined, signal).catch(() => null) : null,
        // The data bureau reviews what departments submit to the catalog.
        bureau
          ? api.get<Page<Resource>>('/v1/catalog/search', { state: 'in_review', limit: 100 }, signal)
          : null,
        // …and looks again at published resources whose grades changed.
        bureau
          ? api.get<Page<Resource>>('/v1/catalog/search', { reviewDue: true, limit: 100 }, signal)
          : null,
      ]);
      return {
        applications: applications.items,
        alerts: alerts?.items ?? [],
        reports,
        reviews: [...(reviews?.items ?? []), ...(regraded?.items ?? [])],
      };
    },
    [alertReader, reporter, bureau],
  );
  const { data, reload } = useLoader(load);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a page change is when things may have moved
  useEffect(() => reload(), [pathname, reload]);
  useEffect(() => {
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [reload]);
  const [seen, setSeen] = useState(() => localStorage.getItem(seenKey(me)) ?? '');
  const [open, setOpen] = useState(false);

  const applications = data?.applications ?? [];
  const names = useResources(applications.map((a) => a.resourceId));
  const nameOf = (id: string) => names.get(id)?.name ?? id;
  const { todos, updates } = (() => {
    const security = hasRole(me, 'security_officer');
    const steward = hasRole(me, 'data_steward');
    const todos: Note[] = applications
      .filter((a) =>
        security
          ? a.state === 'security_review' ||
            (a.state === 'submitted' && a.consumerOrgId !== me.organization.id)
          : steward && a.state === 'submitted' && a.consumerOrgId !== me.organization.id,
      )
      .map((a) => ({
        key: `todo-${a.id}`,
        text: t(a.state === 'security_review' ? 'notify.securityReview' : 'notify.decide', {
          resource: nameOf(a.resourceId),
        }),
        to: `/applications?id=${encodeURIComponent(a.id)}`,
        ...(a.submittedAt ? { at: a.submittedAt } : {}),
      }));
    const reports = data?.reports;
    for (const r of reports?.items ?? []) {
      todos.push({
        key: `report-${r.formCode}-${r.period}`,
        text: t(r.overdue ? 'notify.reportOverdue' : 'notify.report', {
          form: i18n.language === 'en' ? r.nameEn : r.nameZh,
          period: r.period,
          date: r.dueOn,
        }),
        to: `/indicators?unit=${encodeURIComponent(reports!.unitCode)}&period=${encodeURIComponent(r.period)}`,
      });
    }
    for (const r of data?.reviews ?? []) {
      todos.push({
        key: `review-${r.id}`,
        text: t(r.reviewDue ? 'notify.catalogRegraded' : 'notify.catalogReview', {
          resource: r.name,
          provider: r.provider.name,
        }),
        to: `/catalog/${encodeURIComponent(r.id)}`,
        at: r.updatedAt,
      });
    }
    const alerts = data?.alerts.length ?? 0;
    if (alerts > 0) todos.push({ key: 'alerts', text: t('notify.alerts', { count: alerts }), to: '/alerts' });
    const updates: Note[] = applications
      .filter(
        (a) =>
          a.consumerOrgId === me.organization.id &&
          (a.state === 'approved' || a.state === 'rejected') &&
          (decidedAt(a) ?? '') > seen,
      )
      .map((a) => ({
        key: `update-${a.id}`,
        text: t(a.state === 'approved' ? 'notify.approved' : 'notify.rejected', {
          resource: nameOf(a.resourceId),
        }),
        to:
          a.state === 'approved' && a.contractId
            ? `/contracts/${encodeURIComponent(a.contractId)}`
            : `/applications?id=${encodeURIComponent(a.id)}`,
        ...(decidedAt(a) ? { at: decidedAt(a) } : {}),
      }));
    return { todos, updates };
  })();

  const markRead = () => {
    const now = new Date().toISOString();
    localStorage.setItem(seenKey(me), now);
    setSeen(now);
  };
  const count = todos.length + updates.length;
  const section = (title: string, notes: Note[]) =>
    notes.length === 0 ? null : (
      <List
        size="small"
        header={<Typography.Text strong>{title}</Typography.Text>}
        dataSource={notes}
        renderItem={(n) => (
          <List.Item key={n.key}>
            <Flex vertical>
              <Link to={n.to} onClick={() => setOpen(false)}>
                {n.text}
              </Link>
              {n.at ? <Typography.Text type="secondary">{fmtDateTime(n.at)}</Typography.Text> : null}
            </Flex>
          </List.Item>
        )}
      />
    );
  return (
    <Popover
      trigger="click"
      placement="bottomRight"
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (next) reload();
      }}
      title={t('notify.title')}
      content={
        <div
          style={{ width: 'min(340px, 80vw)', maxHeight: 420, overflowY: 'auto' }}
          data-testid="notifications"
        >
          {count === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('notify.none')} /> : null}
          {section(t('notify.todo'), todos)}
          {section(t('notify.updates'), updates)}
          {updates.length > 0 ? (
            <Button size="small" type="link" onClick={markRead}>
              {t('notify.markRead')}
            </Button>
          ) : null}
        </div>
      }
    >
      <Badge count={count} size="small" offset={[-4, 4]}>
        <Button
          type="text"
          shape="circle"
          icon={<BellOutlined />}
          aria-label={t('notify.button', { count })}
          data-testid="notifications-button"
        />
      </Badge>
    </Popover>
  );
}
