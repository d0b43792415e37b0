"use client";
import { useState, type ReactNode } from "react";

/**
 * A table's filters, edited as a draft and applied on submit so typing does not refetch.
 * `onApply` runs whenever the applied filters change (to go back to the first page).
 */
export function useFilters<F extends Record<string, string>>(initial: () => F, empty: F, onApply: () => void) {
  const [draft, setDraft] = useState(initial);
  const [applied, setApplied] = useState(initial);
  return {
    draft,
    applied,
    /** The change handler of the input or select editing `key`. */
    set: (key: keyof F) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [key]: e.target.value })),
    apply: () => {
      setApplied(draft);
      onApply();
    },
    clear: () => {
      setDraft(empty);
      setApplied(empty);
      onApply();
    },
  };
}

/** The filters' form, with Apply and Clear after the fields. */
export function FilterForm({ filters, className, children }: { filters: { apply: () => void; clear: () => void }; className: string; children: ReactNode }) {
  return (
    <form
      className={className}
      onSubmit={(e) => {
        e.preventDefault();
        filters.apply();
      }}
    >
      {children}
      <div className="flex items-end gap-2">
        <button className="btn-primary" type="submit">
          Apply
        </button>
        <button className="btn-secondary" type="button" onClick={filters.clear}>
          Clear
        </button>
      </div>
    </form>
  );
}

/** A labelled filter field: the label names the control `id`. */
export function Field({ id, label, className, children }: { id: string; label: string; className?: string; children: ReactNode }) {
  return (
    <div className={className}>
      <label className="label" htmlFor={id}>
        {label}
      </label>
      {children}
    </div>
  );
}
