import type { FastifyInstance, FastifySchema } from "fastify";
import type { Access } from "./access.js";

/** A route as registered: its method, full URL pattern, declared access and schemas. */
export interface RegisteredRoute {
  method: string;
  url: string;
  access: Access | undefined;
  schema: FastifySchema | undefined;
}

const registries = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/**
 * Records every route the app registers (an onRoute hook on the root instance, installed
 * before any route). Tests read it to check every route against its declaration, so a
 * route added tomorrow is checked without anyone editing the tests.
 */
export function installRouteRegistry(app: FastifyInstance): void {
  const routes: RegisteredRoute[] = [];
  registries.set(app, routes);
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      routes.push({
        method: String(method).toUpperCase(),
        url: route.url,
        access: route.config?.access,
        schema: route.schema,
      });
    }
  });
}

/** The routes registered on `app` (the root instance built by buildApp). */
export function registeredRoutes(app: FastifyInstance): readonly RegisteredRoute[] {
  const routes = registries.get(app);
  if (!routes) throw new Error("installRouteRegistry(app) was not called before the routes were registered.");
  return routes;
}
