"use client";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { economyWindowLabels } from "@/app/_components/economy-labels";
import { DEFAULT_ECONOMY_WINDOW, type EconomyWindow, economyWindows } from "@/server/economy/windows";

/** The window cost per useful token is read over, as the `window` URL parameter (so each view is a link). */
export function EconomyWindowSelect({ value, id = "window" }: { value: EconomyWindow; id?: string }) {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  function choose(window: string) {
    const next = new URLSearchParams(params);
    if (window === DEFAULT_ECONOMY_WINDOW) next.delete("window");
    else next.set("window", window);
    next.delete("page");
    router.push(`${pathname}${next.size ? `?${next}` : ""}`);
  }
  return (
    <select
      id={id}
      aria-label="Cost per useful token over"
      className="input w-auto text-sm"
      value={value}
      onChange={(e) => choose(e.target.value)}
      data-testid="economy-window"
    >
      <EconomyWindowOptions />
    </select>
  );
}

/** The windows as a select's options (the marketplace's filter form has its own select). */
export function EconomyWindowOptions() {
  return economyWindows.map((w) => (
    <option key={w} value={w}>
      Last {economyWindowLabels[w]}
    </option>
  ));
}
