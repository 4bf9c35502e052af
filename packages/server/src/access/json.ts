// Groups and their members in the wire form (snake_case, ISO times) the JSON API and the
// CLI's --json print.

import type { Group, Member } from './types.ts';

export function groupJson(g: Group) {
  return {
    id: g.id,
    path: g.path,
    name: g.name,
    parent_id: g.parentId,
    description: g.description,
    created_at: g.createdAt.toISOString(),
  };
}

export function memberJson(m: Member) {
  return {
    user_id: m.userId,
    username: m.username,
    name: m.name,
    role: m.role,
    share_depth: m.shareDepth,
    joined_at: m.joinedAt.toISOString(),
  };
}
