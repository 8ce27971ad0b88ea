/**
 * Which index drives a filtered read, the same rule for every backend: the tags index when all tags must match (one
 * tag narrows enough) or when it has fewer branches than the types, else the types index, else a walk by position.
 */
import type { EventFilter } from './types.ts';

export type FilterDriver = 'tags' | 'types' | 'position';

export interface FilterPlan {
  driver: FilterDriver;
  /** One ordered, limited branch per value (only the first tag when all tags must match); empty for `position`. */
  values: string[];
}

export function planFilter(filter: EventFilter): FilterPlan {
  const types = filter.types ?? [];
  const tags = filter.tags ?? [];
  const allTags = filter.tagMatch === 'all';
  if (tags.length > 0 && (allTags || types.length === 0 || tags.length < types.length)) {
    return { driver: 'tags', values: allTags ? tags.slice(0, 1) : [...tags] };
  }
  if (types.length > 0) return { driver: 'types', values: [...types] };
  return { driver: 'position', values: [] };
}
