/**
 * An object that answers some methods itself and passes every other property through to `inner`,
 * with `inner`'s methods bound to it. The stores' interfaces belong to shared/, so a wrapper that
 * changes one or two methods (the fence, the player cache) must not have to restate the rest.
 */
export function overrideMethods<T extends object>(inner: T, overrides: Partial<T>): T {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(inner, {
    get(target, prop, recv) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return (overrides as Record<PropertyKey, unknown>)[prop];
      let f = bound.get(prop);
      if (f !== undefined) return f;
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      bound.set(prop, (f = v.bind(target)));
      return f;
    },
  });
}
