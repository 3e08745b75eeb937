import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERT_SEVERITIES, ALERT_STATES, FREEZE_SCOPES, GRADES, ROLES } from '../src/core/tables.ts';
import { DETECTOR_IDS } from '../src/rules/detectors.ts';
import { MASK_FAMILIES } from '../src/rules/masking.ts';
import i18n from '../web/src/i18n.ts';
import { en, zh } from '../web/src/locales.ts';

// The console has two languages; a key missing in one shows as a raw key to its users. These
// checks read the console's sources for every t('…') and hold both dictionaries to them.

type Tree = { [key: string]: string | Tree };

function leaves(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const at = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') out.set(at, value);
    else for (const [k, v] of leaves(value, at)) out.set(k, v);
  }
  return out;
}

function lookup(tree: Tree, key: string): string | Tree | undefined {
  let node: string | Tree | undefined = tree;
  for (const part of key.split('.')) {
    if (typeof node !== 'object') return undefined;
    node = node[part];
  }
  return node;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

const SOURCES = sources(path.resolve('web/src')).filter((f) => !f.endsWith('locales.ts'));
const USES = SOURCES.flatMap((file) => {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\bt\(\s*(['`])([^'`]+)\1/g)].map((m) => ({ file, key: m[2]! }));
});

const variables = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

describe('console translations', () => {
  it('finds the keys the pages use', () => {
    expect(USES.length).toBeGreaterThan(300);
  });

  it('has the same keys and the same {{variables}} in Chinese and English', () => {
    const zhLeaves = leaves(zh as Tree);
    const enLeaves = leaves(en as Tree);
    expect([...enLeaves.keys()].sort()).toEqual([...zhLeaves.keys()].sort());
    for (const [key, text] of zhLeaves) {
      expect(variables(enLeaves.get(key)!), key).toEqual(variables(text));
    }
  });

  it('has every literal key a page uses, in both languages', () => {
    const missing = USES.filter((u) => !u.key.includes('${'))
      .filter(
        (u) => typeof lookup(zh as Tree, u.key) !== 'string' || typeof lookup(en as Tree, u.key) !== 'string',
      )
      .map((u) => `${path.basename(u.file)}: ${u.key}`);
    expect(missing).toEqual([]);
  });

  it('has a group for every computed key (such as grade.<value> or state.<value>)', () => {
    const missing = USES.filter((u) => u.key.includes('${'))
      .map((u) => ({ ...u, prefix: u.key.slice(0, u.key.indexOf('${')).replace(/\.$/, '') }))
      .filter(
        (u) =>
          typeof lookup(zh as Tree, u.prefix) !== 'object' ||
          typeof lookup(en as Tree, u.prefix) !== 'object',
      )
      .map((u) => `${path.basename(u.file)}: ${u.key}`);
    expect(missing).toEqual([]);
  });

  it('reads keys holding a colon (API-key scopes) as keys, not as namespace:key', async () => {
    for (const lang of ['zh-CN', 'en'] as const) {
      await i18n.changeLanguage(lang);
      const dict = (lang === 'en' ? en : zh) as Tree;
      for (const scope of [
        'catalog:read',
        'catalog:write',
        'identity:read',
        'identity:write',
        'audit:read',
      ]) {
        expect(i18n.t(`scope.${scope}`)).toBe(lookup(dict, `scope.${scope}`));
      }
    }
  });

  it('names the resource formats and the login audit actions', () => {
    for (const key of [
      'resourceFormat.table',
      'resourceFormat.file',
      'resourceFormat.api',
      'auditAction.session.login',
      'auditAction.session.login_failed',
      'auditAction.session.lockout',
    ]) {
      expect(typeof lookup(zh as Tree, key), `zh ${key}`).toBe('string');
      expect(typeof lookup(en as Tree, key), `en ${key}`).toBe('string');
    }
  });

  it('names every grade, state, role, detector and mask rule the API can send', () => {
    const groups: Record<string, readonly string[]> = {
      grade: GRADES,
      role: ROLES,
      detector: DETECTOR_IDS,
      mask: MASK_FAMILIES.map((f) => f.family),
      'alerts.states': ALERT_STATES,
      'alerts.severities': ALERT_SEVERITIES,
      'alerts.scopes': FREEZE_SCOPES,
      state: [
        ...['draft', 'submitted', 'security_review', 'approved', 'rejected', 'withdrawn'],
        ...['active', 'suspended', 'revoked', 'expired'],
        ...['ready', 'loading', 'failed', 'queued', 'running', 'succeeded'],
      ],
    };
    for (const [group, ids] of Object.entries(groups)) {
      for (const id of ids) {
        expect(typeof lookup(zh as Tree, `${group}.${id}`), `zh ${group}.${id}`).toBe('string');
        expect(typeof lookup(en as Tree, `${group}.${id}`), `en ${group}.${id}`).toBe('string');
      }
    }
  });
});
