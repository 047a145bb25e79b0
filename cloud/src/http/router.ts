/**
 * A route table: method, path with `{params}`, who may call (roles), the body schema (zod) and its size limit.
 * Matching decodes each path parameter once; a bad %-escape is a 400 naming the parameter.
 */
import type { z } from 'zod';
import { LightNodeError, invalidField } from '@lightnode/protocols';
import type { Platform, Role } from './auth.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteContext<B> {
  caller: Platform;
  params: Record<string, string>;
  query: URLSearchParams;
  body: B;
}

/** What a route without a bearer (`public: true`) is given: no caller. */
export type PublicRouteContext<B> = Omit<RouteContext<B>, 'caller'>;

interface RouteBase<B> {
  method: Method;
  /** `/pods/{podId}/pom`: literal segments and `{name}` parameters (one segment each). */
  path: string;
  /**
   * The body: a zod schema (checked here, 400 naming the field), `'json'` (any JSON, checked by the handler) or
   * absent (no body read).
   */
  body?: z.ZodType<B> | 'json';
  /** Body limit in bytes (default 1 MiB); over it → 413 BODY_TOO_LARGE. */
  maxBodyBytes?: number;
  /** Success status (default 200). */
  status?: number;
}

export interface Route<B = unknown> extends RouteBase<B> {
  public?: false;
  /** Roles allowed to call; others get 403 saying they may not `forbidden`. Absent: every authenticated caller. */
  roles?: readonly Role[];
  /** What a caller outside `roles` may not do, for the 403 message ("register PoDs (…)"). */
  forbidden?: string;
  handle(ctx: RouteContext<B>): unknown;
}

/** A route anyone may call, with no bearer token (e.g. a device proving itself by a signature in the body). */
export interface PublicRoute<B = unknown> extends RouteBase<B> {
  public: true;
  handle(ctx: PublicRouteContext<B>): unknown;
}

export type AnyRoute = Route | PublicRoute;

/** Declares a route, inferring the body type from its schema. */
export function route<B>(r: Route<B>): Route<unknown> {
  return r;
}

/** Declares a public route (no bearer token), inferring the body type from its schema. */
export function publicRoute<B>(r: Omit<PublicRoute<B>, 'public'>): PublicRoute<unknown> {
  return { ...r, public: true };
}

interface Compiled {
  route: AnyRoute;
  re: RegExp;
  names: string[];
}

export interface Match {
  route: AnyRoute;
  params: Record<string, string>;
}

export class Router {
  private readonly compiled: Compiled[];

  constructor(routes: readonly AnyRoute[]) {
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const pattern = route.path
        .split('/')
        .map((seg) => {
          const m = /^\{([A-Za-z][A-Za-z0-9]*)\}$/.exec(seg);
          if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(m[1]!);
          return '([^/]+)';
        })
        .join('/');
      return { route, re: new RegExp(`^${pattern}$`), names };
    });
  }

  /**
   * The route for `method pathname`: NOT_FOUND when no path matches, METHOD_NOT_ALLOWED (with the allowed
   * methods) when only the method differs.
   */
  match(method: string, pathname: string): Match | { allowed: Method[] } | undefined {
    const hits = this.compiled.filter((c) => c.re.test(pathname));
    if (hits.length === 0) return undefined;
    const hit = hits.find((c) => c.route.method === method);
    if (!hit) return { allowed: hits.map((c) => c.route.method) };
    const raw = hit.re.exec(pathname)!.slice(1);
    const params: Record<string, string> = {};
    hit.names.forEach((name, i) => (params[name] = decodeParam(name, raw[i]!)));
    return { route: hit.route, params };
  }
}

/** One path segment, percent-decoded; a malformed escape is SCHEMA_INVALID naming the parameter. */
export function decodeParam(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidField('SCHEMA_INVALID', name, 'a path segment with valid %-escapes (UTF-8)', raw);
  }
}

/** Throws FORBIDDEN unless the caller's role is allowed by the route. */
export function checkRole(r: Route, caller: Platform): void {
  if (!r.roles || r.roles.includes(caller.role)) return;
  throw new LightNodeError(
    'FORBIDDEN',
    `${caller.id} (${caller.role}) may not ${r.forbidden ?? `${r.method} ${r.path}`}`,
    {
      platform: caller.id,
      role: caller.role,
    },
  );
}
