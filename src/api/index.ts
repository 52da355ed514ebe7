// The HTTP API: createApi builds the Hono app; serveApi listens on a host:port.
export { createApi, type ApiApp, type ApiContext, type ApiEnv, type ApiOptions, type RouteRegistrar } from './app.js';
export { TokenAuth, allows, type Principal, type Role } from './auth.js';
export { openApiDocument, type OpenApiDocument } from './openapi.js';
export { extraRoutes } from './routes.js';
export { serveApi, parseListen, type RunningServer } from './server.js';
