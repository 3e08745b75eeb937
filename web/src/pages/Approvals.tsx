import { Card, Tabs, Tag } from 'antd';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { ErrorAlert, ListTable, OrgName, PageTitle, StateTag } from '../components/common.tsx';
import type { ListColumn, ToolbarOptions } from '../components/TableToolbar.tsx';
import { fmtDateTime } from '../format.ts';
import { collectAll, resourceById, useLoader, useOrganizations, useResources } from '../hooks.ts';
import { Link } from '../router.tsx';
import { hasRole, useMe } from '../session.tsx';
import type { Application, ApplicationState, DecisionRecord, Me, Page } from '../types.ts';
import { canApprove, dueColumn } from './Applications.tsx';

type TabKey = 'pending' | 'decided';

const listApplications = (query: Record<string, string>, signal: AbortSignal) =>
  collectAll((cursor) =>
    api.get<Page<Application>>('/v1/applications', { ...query, limit: 200, cursor }, signal),
  );

/** The states in which this user's approval may be awaited: the provider's, then the security review. */
function awaitedStates(me: Me): ApplicationState[] {
  return [
    ...(hasRole(me, 'data_steward') ? (['submitted'] as const) : []),
    ...(hasRole(me, 'security_officer') ? (['security_review'] as const) : []),
  ];
}

/** This user's own latest decision on the application. */
function myDecision(me: Me, app: Application): DecisionRecord | undefined {
  return app.decisions.findLast((d) => d.by === me.user.id);
}

/**
 * 审批中心: the applications waiting for this user's decision and those they decided. Deciding
 * stays on the application's page; this only lists and links.
 */
export function Approvals() {
  const { t } = useTranslation();
  const me = useMe();
  const [tab, setTab] = useState<TabKey>('pending');
  const load = useCallback(
    async (signal: AbortSignal) => {
      const [awaited, decided] = await Promise.all([
        Promise.all(awaitedStates(me).map((state) => listApplications({ state }, signal))),
        listApplications({ decidedBy: 'me' }, signal),
      ]);
      const candidates = awaited.flatMap((page) => page.items);
      // Whether a steward's approval is awaited depends on who provides the resource.
      const resources = new Map(
        await Promise.all(
          candidates.map(
            async (a) => [a.id, await resourceById(a.resourceId).catch(() => undefined)] as const,
          ),
        ),
      );
      return {
        pending: candidates.filter((a) => canApprove(me, a, resources.get(a.id))),
        decided: decided.items,
        truncated: decided.truncated || awaited.some((page) => page.truncated),
      };
    },
    [me],
  );
  const { data, error, loading, reload } = useLoader(load);
  const pending = data?.pending ?? [];
  const decided = data?.decided ?? [];
  const names = useResources([...pending, ...decided].map((a) => a.resourceId));
  const resourceName = (a: Application) => names.get(a.resourceId)?.name ?? a.resourceId;
  const count = (n: number) => (data?.truncated ? `${n}+` : String(n));
  const open = (a: Application) => (
    <Link to={`/applications?id=${encodeURIComponent(a.id)}`}>{t('approvals.open')}</Link>
  );
  const orgs = useOrganizations();
  const common: ListColumn<Application>[] = [
    { title: t('applications.resource'), render: (_: unknown, a: Application) => resourceName(a) },
    {
      title: t('applications.consumer'),
      render: (_: unknown, a: Application) => <OrgName id={a.consumerOrgId} />,
      exportValue: (a) => orgs.get(a.consumerOrgId)?.name ?? a.consumerOrgId,
    },
  ];
  // Both lists are collected whole (up to the API's cap): the toolbar counts the rows listed.
  const toolbar = (id: string): ToolbarOptions => ({
    id,
    loadedOnly: data?.truncated,
    onRefresh: reload,
    refreshing: loading,
  });

  return (
    <>
      <PageTitle title={t('nav.approvals')} sub={t('approvals.sub')} help="approvals" />
      <Card>
        <ErrorAlert error={error} onRetry={reload} />
        <Tabs
          activeKey={tab}
          onChange={(k) => setTab(k as TabKey)}
          items={[
            {
              key: 'pending',
              label: (
                <span data-testid="approvals-pending-tab">
                  {t('approvals.pending')} <Tag>{count(pending.length)}</Tag>
                </span>
              ),
              children: (
                <ListTable<Application>
                  toolbar={toolbar('approvals-pending')}
                  loading={loading}
                  dataSource={pending}
                  pagination={{ pageSize: 20, hideOnSinglePage: true }}
                  empty={t('approvals.pendingEmpty')}
                  columns={[
                    ...common,
                    {
                      title: t('approvals.step'),
                      render: (_: unknown, a) =>
                        a.state === 'security_review'
                          ? t('approvals.stepSecurity')
                          : t('approvals.stepProvider'),
                    },
                    { title: t('applications.submittedAt'), dataIndex: 'submittedAt', render: fmtDateTime },
                    dueColumn(t),
                    { title: t('common.actions'), render: (_: unknown, a) => open(a) },
                  ]}
                />
              ),
            },
            {
              key: 'decided',
              label: (
                <span data-testid="approvals-decided-tab">
                  {t('approvals.decided')} <Tag>{count(decided.length)}</Tag>
                </span>
              ),
              children: (
                <ListTable<Application>
                  toolbar={toolbar('approvals-decided')}
                  loading={loading}
                  dataSource={decided}
                  pagination={{ pageSize: 20, hideOnSinglePage: true }}
                  empty={t('approvals.decidedEmpty')}
                  columns={[
                    ...common,
                    {
                      title: t('approvals.decision'),
                      exportValue: (a) => {
                        const d = myDecision(me, a);
                        return d ? t(`approvals.${d.decision}`) : '';
                      },
                      render: (_: unknown, a) => {
                        const d = myDecision(me, a);
                        return d ? (
                          <Tag color={d.decision === 'approve' ? 'green' : 'red'}>
                            {t(`approvals.${d.decision}`)}
                          </Tag>
                        ) : (
                          '—'
                        );
                      },
                    },
                    {
                      title: t('approvals.decidedAt'),
                      render: (_: unknown, a) => fmtDateTime(myDecision(me, a)?.at),
                    },
                    {
                      title: t('approvals.reason'),
                      render: (_: unknown, a) => myDecision(me, a)?.reason || '—',
                    },
                    {
                      title: t('approvals.stateNow'),
                      dataIndex: 'state',
                      render: (s: string) => <StateTag state={s} />,
                      exportValue: (a) => t(`state.${a.state}`, { defaultValue: a.state }),
                    },
                    { title: t('common.actions'), render: (_: unknown, a) => open(a) },
                  ]}
                />
              ),
            },
          ]}
        />
      </Card>
    </>
  );
}
