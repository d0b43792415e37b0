import { measuredFigure } from "../catalog/sample";
import { CATALOG_REFRESH_MAX_MS } from "../contract/catalog";
import { warm } from "../tokens/encoders";
import type { Backend, RoutingListing } from "./backend";

/**
 * The published listings (`catalog.routing`), refreshed in the background
 * every `refreshMs`; a failed refresh keeps the last good table. Also the
 * output throughput this proxy measures per listing, for the "throughput" policy.
 */
export class CatalogCache {
  private listings: RoutingListing[] | null = null;
  private loading: Promise<RoutingListing[]> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly throughputs = new Map<string, { tokensPerSecond: number; samples: number }>();

  constructor(
    private readonly backend: Backend,
    private readonly opts: { refreshMs?: number; log?: (line: string) => void } = {},
  ) {
    // Price changes wait out a notice sized by this bound (server/catalog/price-in-force.ts): a slower cache could charge a stale price.
    if ((opts.refreshMs ?? 0) > CATALOG_REFRESH_MAX_MS) throw new RangeError(`refreshMs: at most ${CATALOG_REFRESH_MAX_MS} ms, the price notice assumes it`);
  }

  /** Listings by slug and by family, so routing a request looks at its model's few listings, not the catalog. */
  private bySlug = new Map<string, RoutingListing[]>();
  private byFamily = new Map<string, RoutingListing[]>();

  /** A reload asked for while one was in flight: that one may have read the table before the change. */
  private reloadAfter = false;

  private load(): Promise<RoutingListing[]> {
    this.loading ??= this.backend
      .routing()
      .then((l) => {
        const bySlug = new Map<string, RoutingListing[]>();
        const byFamily = new Map<string, RoutingListing[]>();
        for (const x of l) {
          bySlug.set(x.slug, [x]);
          (byFamily.get(x.family) ?? byFamily.set(x.family, []).get(x.family)!).push(x);
        }
        // A tokenizer's vocabulary takes a second or more to load: here, once, rather than in a request.
        warm(l.map((x) => x.tokenizer));
        this.bySlug = bySlug;
        this.byFamily = byFamily;
        return (this.listings = l);
      })
      .finally(() => {
        this.loading = null;
        if (this.reloadAfter) {
          this.reloadAfter = false;
          this.refreshNow();
        }
      });
    return this.loading;
  }

  /**
   * Reloads the table now (a broadcast said listings changed), after the load in flight if there is
   * one. The table is the backend's answer, never the message's: a forged message costs one reload.
   * A scheduled price arrives early this way, and priceAt still quotes it only from its effectiveFrom.
   */
  refreshNow() {
    if (this.loading) {
      this.reloadAfter = true;
      return;
    }
    this.load().catch((err: Error) => this.opts.log?.(`catalog refresh failed (keeping the last table): ${err.message}`));
  }

  /**
   * The listings a `model` can mean: the one with that slug, else the family's (chooseProviders
   * decides among them). Synchronous once the table is loaded.
   */
  candidates(model: string): RoutingListing[] | Promise<RoutingListing[]> {
    if (!this.listings) return this.load().then(() => this.pick(model));
    return this.pick(model);
  }

  private pick(model: string): RoutingListing[] {
    const m = model.toLowerCase();
    return this.bySlug.get(m) ?? this.byFamily.get(m) ?? [];
  }

  /** The table, waiting for the first load only. */
  get(): RoutingListing[] | Promise<RoutingListing[]> {
    return this.listings ?? this.load();
  }

  start() {
    this.timer = setInterval(() => {
      this.load().catch((err: Error) => this.opts.log?.(`catalog refresh failed (keeping the last table): ${err.message}`));
    }, this.opts.refreshMs ?? CATALOG_REFRESH_MAX_MS);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
  }

  /** Records a finished generation's output tokens per second (exponentially weighted, α = 0.2). */
  observeThroughput(listingId: string, tokensPerSecond: number) {
    if (!Number.isFinite(tokensPerSecond) || tokensPerSecond <= 0) return;
    const old = this.throughputs.get(listingId);
    this.throughputs.set(
      listingId,
      old === undefined ? { tokensPerSecond, samples: 1 } : { tokensPerSecond: old.tokensPerSecond * 0.8 + tokensPerSecond * 0.2, samples: old.samples + 1 },
    );
  }

  /** This proxy's own figure, only past the same minimum sample as the platform's medians (server/catalog/sample.ts). */
  throughput = (listingId: string): number | undefined => {
    const t = this.throughputs.get(listingId);
    return (t && measuredFigure(t.tokensPerSecond, t.samples)) ?? undefined;
  };
}
