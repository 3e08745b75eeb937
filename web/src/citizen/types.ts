/**
 * What the citizen site reads from the API, derived from the server's own response schemas (the
 * TypeBox schemas behind /openapi.json) as the console's types.ts does: a change on the server that
 * the site does not follow fails `npm run typecheck`. Type-only imports: nothing of the server
 * reaches the site's bundle. The few runtime lists below are the site's own copies (importing the
 * server's would bundle its store modules), each checked against the server's type.
 */
import type { Static } from 'typebox';
import type { DemoIdentities } from '../../../src/demo/services.ts';
import type * as identity from '../../../src/identity/schema.ts';
import type * as ratings from '../../../src/ratings/schema.ts';
import type { LEVELS as SERVER_LEVELS } from '../../../src/ratings/service.ts';
import type * as services from '../../../src/services/schema.ts';

export type { DemoIdentities };

/** A list answer of the API (src/core/paging.ts pageSchema), for any item. */
export type Page<T> = Omit<Static<typeof services.BundlePage>, 'items'> & { items: T[] };

export type Me = Static<typeof identity.CitizenMe>;
export type AccountKind = Me['kind'];
export type LoginReply = Static<typeof identity.LoginReply>;

export type Bundle = Static<typeof services.Bundle>;
export type BundleStep = Bundle['steps'][number];
export type FieldPlan = BundleStep['fields'][number];
export type Provenance = FieldPlan['provenance'];
export type Savings = Static<typeof services.Savings>;

export type Application = Static<typeof services.Application>;
export type ApplicationStep = Application['steps'][number];
export type StepState = ApplicationStep['state'];
export type ApplicationState = Application['state'];

export type Consent = Static<typeof services.Consent>;
export type Consents = Static<typeof services.Consents>;
export type Relation = Consent['relation'];

export type Stats = Static<typeof ratings.Stats>;
export type RatingList = Static<typeof ratings.RatingList>;
export type Eligibility = Static<typeof services.Eligibility>;

/** GET /v1/citizen/notifications: what happened on one's applications and consents. */
export type Notifications = Static<typeof services.NotificationPage>;
export type Notification = Notifications['items'][number];

/**
 * `list` as it is, when it names every member of the union T and nothing else: a state the server
 * adds or drops fails typecheck here rather than showing up unlabelled on the site.
 */
const everyOf =
  <T>() =>
  <const L extends readonly T[]>(list: L & ([T] extends [L[number]] ? unknown : never)): L =>
    list;

/** The states the site has words for (locales.ts stepState, applicationState). */
export const STEP_STATES = everyOf<StepState>()([
  'waiting',
  'submitted',
  'accepted',
  'in_progress',
  'done',
  'returned',
  'refused',
]);
export const APPLICATION_STATES = everyOf<ApplicationState>()(['open', 'done', 'refused']);
export const RELATIONS = everyOf<Relation>()(['spouse', 'parent', 'child', 'other']);

/**
 * The online channel's indicators (src/ratings/service.ts INDICATORS): the server types them as
 * plain strings per channel, so only the list here says which; the rating's POST checks them.
 */
export const INDICATORS = ['efficiency', 'guideAccuracy', 'convenience', 'usability'] as const;
/** 5 非常满意 … 1 非常不满意, best first (src/ratings/service.ts LEVELS). */
export const LEVELS = everyOf<keyof typeof SERVER_LEVELS>()([5, 4, 3, 2, 1]);
export type Indicator = (typeof INDICATORS)[number];
