"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";

const sections = [
  { title: null, links: [{ href: "/", label: "Marketplace" }] },
  {
    title: "Buy",
    links: [
      { href: "/credits", label: "Credits" },
      { href: "/keys", label: "Keys" },
      { href: "/usage", label: "Usage" },
    ],
  },
  {
    title: "Sell",
    links: [
      { href: "/models", label: "Models" },
      { href: "/earnings", label: "Earnings" },
    ],
  },
  {
    title: null,
    links: [
      { href: "/finance", label: "Finance" },
      { href: "/settings", label: "Settings" },
    ],
  },
];

export function NavLinks({ signedIn }: { signedIn: boolean; isPlatform: boolean }) {
  const pathname = usePathname();
  const visible = signedIn ? sections : sections.slice(0, 1);
  return (
    <nav className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm" aria-label="Main">
      {visible.map((s) => (
        <div key={s.links[0]?.href ?? s.title} className="flex items-center gap-3">
          {s.title && <span className="text-xs font-semibold uppercase tracking-wide text-slate-400">{s.title}</span>}
          {s.links.map((l) => {
            const active = l.href === "/" ? pathname === "/" : pathname.startsWith(l.href);
            return (
              <Link
                key={l.href}
                href={l.href}
                className={active ? "font-medium text-indigo-700" : "text-slate-600 hover:text-slate-900"}
                aria-current={active ? "page" : undefined}
              >
                {l.label}
              </Link>
            );
          })}
        </div>
      ))}
    </nav>
  );
}
