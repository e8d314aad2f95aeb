import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

export interface VirtualListProps<T> {
  items: readonly T[];
  /** Every row is this tall (px): what keeps 20,000 rows as cheap as 40. */
  rowHeight: number;
  renderRow: (item: T, index: number, selected: boolean) => ComponentChildren;
  selectedIndex?: number;
  onSelect?: (index: number) => void;
  /** Enter on the selected row. */
  onOpen?: (index: number) => void;
  /** ← and → on the selected row: fold or unfold what is under it (a tree drawn as a list). */
  onCollapse?: (index: number) => void;
  onExpand?: (index: number) => void;
  /** Scrolled within a screen of the end: load more. */
  onNearEnd?: () => void;
  label: string;
  header?: ComponentChildren;
}

const OVERSCAN = 8;

/**
 * A keyboard-friendly list that renders only the rows in view (plus a few), so the DOM stays small
 * whatever the length. ↑/↓/Home/End/PageUp/PageDown move the selection; Enter opens it; ←/→ fold
 * and unfold it where the list is a tree.
 */
export function VirtualList<T>(props: VirtualListProps<T>) {
  const { items, rowHeight, selectedIndex = -1 } = props;
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const element = viewport.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    setHeight(element.clientHeight);
    return () => observer.disconnect();
  }, []);

  // Keeps the selected row in view when the keyboard moves it.
  useEffect(() => {
    const element = viewport.current;
    if (!element || selectedIndex < 0) return;
    const top = selectedIndex * rowHeight;
    if (top < element.scrollTop) element.scrollTop = top;
    else if (top + rowHeight > element.scrollTop + element.clientHeight) {
      element.scrollTop = top + rowHeight - element.clientHeight;
    }
  }, [selectedIndex, rowHeight]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(items.length, Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN);

  const onScroll = () => {
    const element = viewport.current;
    if (!element) return;
    setScrollTop(element.scrollTop);
    if (props.onNearEnd && element.scrollTop + 2 * element.clientHeight >= element.scrollHeight) props.onNearEnd();
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const moves: Record<string, number> = {
      ArrowDown: selectedIndex + 1,
      ArrowUp: selectedIndex - 1,
      j: selectedIndex + 1,
      k: selectedIndex - 1,
      PageDown: selectedIndex + page,
      PageUp: selectedIndex - page,
      Home: 0,
      End: items.length - 1,
    };
    const folds: Record<string, ((index: number) => void) | undefined> = {
      Enter: props.onOpen,
      ArrowLeft: props.onCollapse,
      ArrowRight: props.onExpand,
    };
    const fold = folds[event.key];
    if (fold && selectedIndex >= 0) {
      event.preventDefault();
      fold(selectedIndex);
    } else if (event.key in moves && items.length > 0) {
      event.preventDefault();
      props.onSelect?.(Math.max(0, Math.min(items.length - 1, moves[event.key])));
    }
  };

  // Clicks are read on the grid, from the row they land in.
  const rowIndexOf = (event: MouseEvent) =>
    Number((event.target as HTMLElement).closest<HTMLElement>(".vrow")?.dataset.index ?? Number.NaN);
  const onClick = (event: MouseEvent) => {
    const index = rowIndexOf(event);
    if (!Number.isNaN(index)) props.onSelect?.(index);
  };
  const onDblClick = (event: MouseEvent) => {
    const index = rowIndexOf(event);
    if (!Number.isNaN(index)) props.onOpen?.(index);
  };

  const rows: ComponentChildren[] = [];
  for (let index = first; index < last; index++) {
    rows.push(
      <div
        key={index}
        class="vrow"
        role="row"
        aria-rowindex={index + 1}
        aria-selected={index === selectedIndex}
        data-index={index}
        style={{ top: `${index * rowHeight}px`, height: `${rowHeight}px` }}
      >
        {props.renderRow(items[index], index, index === selectedIndex)}
      </div>,
    );
  }
  return (
    <div
      class="vlist"
      role="grid"
      aria-label={props.label}
      aria-rowcount={items.length}
      tabIndex={0}
      onKeyDown={onKeyDown}
      onClick={onClick}
      onDblClick={onDblClick}
    >
      {props.header}
      <div class="vlist-viewport" ref={viewport} onScroll={onScroll}>
        <div class="vlist-space" style={{ height: `${items.length * rowHeight}px` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
