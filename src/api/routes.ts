// Routes other parts of etape mount on the `etape serve` API (incidents, status page helpers, …).
// Add a registrar to this list; it receives the Hono app and an ApiContext (store, config, clock, auth
// helpers, `body` for validated JSON, `describe` for the OpenAPI document). Everything under /api/ is
// behind the bearer-token check: GET needs viewer, other methods operator.
import type { RouteRegistrar } from './app.js';
import { registerIncidentRoutes } from './incidents.js';
import { registerFreezeRoutes } from './freezes.js';
import { registerSubscriptionRoutes } from './subscriptions.js';
import { registerDriftRoutes } from './drift.js';
import { registerDashboard } from '../dashboard/index.js';

// The operator dashboard under /ui (it reads which action routes exist from the OpenAPI document at request time).
export const extraRoutes: RouteRegistrar[] = [
  registerIncidentRoutes,
  (app, ctx) => registerFreezeRoutes(app, ctx),
  registerSubscriptionRoutes,
  registerDriftRoutes,
  registerDashboard,
];
