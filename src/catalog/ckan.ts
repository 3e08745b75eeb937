import type { ResourceView } from './service.ts';
import { findTheme } from './themes.ts';

/**
 * CKAN Action API shapes (read-only), so open-data harvesters that speak CKAN can read the
 * catalog. A package is a resource; its `name` is the resource code in lower case, CKAN's
 * url-safe slug; organizations are named by their id.
 */
export function ckanEnvelope<T>(base: string, action: string, result: T) {
  return { help: `${base}/api/3/action/help_show?name=${action}`, success: true as const, result };
}

export function ckanError(
  base: string,
  action: string,
  type: 'Not Found Error' | 'Validation Error',
  message: string,
) {
  return {
    help: `${base}/api/3/action/help_show?name=${action}`,
    success: false as const,
    error: { __type: type, message },
  };
}

export interface CkanOrganization {
  id: string;
  name: string;
  title: string;
  type: 'organization';
  state: 'active';
  is_organization: true;
  description: string;
  created: string;
}

export function ckanOrganization(org: {
  id: string;
  name: string;
  type: string;
  regionName: string | null;
  createdAt: string;
}): CkanOrganization {
  return {
    id: org.id,
    name: org.id,
    title: org.name,
    type: 'organization',
    state: 'active',
    is_organization: true,
    description: [org.type, org.regionName].filter(Boolean).join(' · '),
    created: org.createdAt,
  };
}

export function ckanPackage(
  base: string,
  r: ResourceView,
  extras: Array<{ key: string; value: string }> = [],
) {
  const theme = findTheme(r.theme);
  return {
    id: r.id,
    name: r.code.toLowerCase(),
    title: r.name,
    notes: r.summary,
    type: 'dataset',
    state: 'active',
    private: false,
    metadata_created: r.createdAt,
    metadata_modified: r.updatedAt,
    owner_org: r.provider.id,
    organization: {
      id: r.provider.id,
      name: r.provider.id,
      title: r.provider.name,
      type: 'organization',
      is_organization: true,
    },
    tags: r.keywords.map((k) => ({ name: k, display_name: k })),
    groups: [{ name: r.theme, title: theme?.zh ?? r.theme, display_name: theme?.zh ?? r.theme }],
    num_tags: r.keywords.length,
    num_resources: 1,
    resources: [
      {
        id: `${r.id}-gateway`,
        package_id: r.id,
        name: `${r.name}（数据网关）`,
        url: `${base}/v1/resources/${encodeURIComponent(r.code)}`,
        format: 'JSON',
      },
    ],
    extras: [
      { key: 'resource_code', value: r.code },
      { key: 'sharing_type', value: r.sharingType },
      { key: 'open_type', value: r.openType },
      { key: 'update_cycle', value: r.updateCycle },
      { key: 'grade', value: r.grade },
      ...extras,
    ],
  };
}

/**
 * The subset of CKAN's Solr `fq` syntax harvesters send: space-separated `field:value` pairs
 * (values optionally quoted) over organization, owner_org, tags and groups.
 */
export function parseFq(
  fq: string | undefined,
): { provider?: string; keyword?: string; theme?: string } | { error: string } {
  const out: { provider?: string; keyword?: string; theme?: string } = {};
  if (!fq) return out;
  for (const match of fq.matchAll(/(\+?)([a-z_]+):("([^"]*)"|(\S+))/g)) {
    const value = match[4] ?? match[5] ?? '';
    switch (match[2]) {
      case 'organization':
      case 'owner_org':
        out.provider = value;
        break;
      case 'tags':
        out.keyword = value;
        break;
      case 'groups':
        out.theme = value;
        break;
      default:
        return { error: `unsupported fq field: ${match[2]}` };
    }
  }
  return out;
}
