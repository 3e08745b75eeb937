import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERT_SEVERITIES, ALERT_STATES, FREEZE_SCOPES, GRADES, ROLES } from '../src/core/tables.ts';
import { DETECTOR_IDS } from '../src/rules/detectors.ts';
import { MASK_FAMILIES } from '../src/rules/masking.ts';
import * as services from '../src/services/store.ts';
import { en as citizenEn, zh as citizenZh } from '../web/src/citizen/locales.ts';
import { APPLICATION_STATES, RELATIONS, STEP_STATES } from '../web/src/citizen/types.ts';
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

const CITIZEN = path.resolve('web/src/citizen');
const usesIn = (files: string[]) =>
  files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/\bt\(\s*(['`])([^'`]+)\1/g)].map((m) => ({ file, key: m[2]! }));
  });
// The citizen site (web/src/citizen) has its own dictionary, checked below.
const SOURCES = sources(path.resolve('web/src')).filter(
  (f) => !f.endsWith('locales.ts') && !f.startsWith(CITIZEN + path.sep),
);
const USES = usesIn(SOURCES);

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
      'cases.stepState': services.STEP_STATES,
      'cases.applicationState': services.APPLICATION_STATES,
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

describe('citizen site translations', () => {
  const uses = usesIn(sources(CITIZEN).filter((f) => !f.endsWith('locales.ts')));
  // Plural keys: Chinese has `key_other` only, English `key_one` and `key_other`.
  const base = (key: string) => key.replace(/_(one|other)$/, '');
  const has = (tree: Tree, key: string) =>
    typeof lookup(tree, key) === 'string' || typeof lookup(tree, `${key}_other`) === 'string';

  it('finds the keys the pages use', () => {
    expect(uses.length).toBeGreaterThan(150);
  });

  it('has the same keys (plural forms aside) and the same {{variables}} in Chinese and English', () => {
    const zhLeaves = leaves(citizenZh as Tree);
    const enLeaves = leaves(citizenEn as Tree);
    const keys = (m: Map<string, string>) => [...new Set([...m.keys()].map(base))].sort();
    expect(keys(enLeaves)).toEqual(keys(zhLeaves));
    for (const [key, text] of zhLeaves) {
      expect(variables(enLeaves.get(key)!), key).toEqual(variables(text));
      if (key.endsWith('_other')) expect(enLeaves.has(key.replace(/_other$/, '_one')), key).toBe(true);
    }
  });

  it('has every literal key a page uses, in both languages', () => {
    const missing = uses
      .filter((u) => !u.key.includes('${'))
      .filter((u) => !has(citizenZh as Tree, u.key) || !has(citizenEn as Tree, u.key))
      .map((u) => `${path.basename(u.file)}: ${u.key}`);
    expect(missing).toEqual([]);
  });

  it('names every step and application state, relation, rating level and indicator', () => {
    const groups: Record<string, readonly (string | number)[]> = {
      stepState: STEP_STATES,
      applicationState: APPLICATION_STATES,
      relation: RELATIONS,
      level: [1, 2, 3, 4, 5],
      indicator: ['efficiency', 'guideAccuracy', 'convenience', 'usability'],
      eventKind: ['life', 'business'],
    };
    for (const [group, ids] of Object.entries(groups))
      for (const id of ids) {
        expect(typeof lookup(citizenZh as Tree, `${group}.${id}`), `zh ${group}.${id}`).toBe('string');
        expect(typeof lookup(citizenEn as Tree, `${group}.${id}`), `en ${group}.${id}`).toBe('string');
      }
  });

  it('names the same step and application states as the server', async () => {
    const server = await import('../src/services/store.ts');
    expect([...STEP_STATES]).toEqual([...server.STEP_STATES]);
    expect([...APPLICATION_STATES]).toEqual([...server.APPLICATION_STATES]);
  });
});
