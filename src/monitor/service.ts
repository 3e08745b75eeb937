/**
 * Monitoring, early warning and emergency stop — the capability's public face. Alerts come from
 * the rules in rules.ts, evaluated over the audit log window by window (evaluate.ts); security
 * officers acknowledge and resolve them (alerts.ts). Freezes stop the gateway for a contract, a
 * consumer organization, a resource or everything (freezes.ts); the gateway reads them on every
 * request (guardGatewayCall), so they hold on every node from the next request on.
 */
export * from './access.ts';
export * from './alerts.ts';
export * from './evaluate.ts';
export * from './freezes.ts';
