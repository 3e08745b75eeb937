/**
 * The routes anyone may call without a credential, in one place: the API surface test holds
 * /openapi.json to it and the hostile-requests reliability test holds the running server to it.
 */
export const PUBLIC_OPERATIONS: readonly string[] = [
  'GET /healthz',
  'GET /readyz',
  'POST /v1/auth/login',
  // Citizens sign in on the citizen site; the demo city lists its generated people to try it with.
  'POST /v1/citizen/login',
  'GET /v1/citizen/demo-identities',
  // The audit log's and the registry's signatures are checked by anyone with the public key.
  'GET /v1/audit/public-key',
  'GET /v1/registry/public-key',
  'GET /v1/registry/certificates/{code}',
  'GET /v1/registry/certificates/{code}/versions/{version}',
  'GET /v1/registry/certificates/{code}/pdf',
  'POST /v1/registry/certificates/verify',
  // The operator's yearly disclosure is public by law (operation/).
  'GET /v1/operation/disclosures/{year}',
  'GET /v1/operation/disclosures/{year}/pdf',
  // 好差评 results are published by department (aggregates only; ratings/).
  'GET /v1/ratings/stats',
];

/** The open-data routes: a credential is optional (anonymous harvesters and signed-in callers). */
export const OPEN_DATA_OPERATIONS: readonly string[] = [
  'GET /dcat/catalog.jsonld',
  'GET /dcat/datasets/{code}',
  'GET /api/3/action/package_search',
  'GET /api/3/action/package_show',
  'GET /api/3/action/organization_list',
  'GET /api/3/action/organization_show',
];
