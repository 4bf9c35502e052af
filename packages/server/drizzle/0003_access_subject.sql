-- The query behind a decision cache miss (see src/access/decisions.ts), as a PL/pgSQL function
-- so that its plan is cached: planning this recursive query costs more than running it.
-- Hand-written (drizzle-kit generate --custom); keep it in step with decisions.ts.
create or replace function gatehouse_access_subject(p_user uuid)
returns table(k text, v text)
language plpgsql stable
-- The planner's estimates for the recursive part are far too high, which would make Postgres
-- JIT-compile this small query (a second of compiling for a millisecond of work).
set jit = off
as $fn$
#variable_conflict use_column
begin
  return query
with recursive eff(path) as (
  select g.path from group_members m join groups g on g.id = m.group_id where m.user_id = p_user
  union
  -- includes of a group at or below one reached: a range scan on included_path, then an exact
  -- check (the range [p, p || '0') also holds siblings such as "p-x" and "p.x")
  select a.path from eff e
    join group_includes i on i.included_path ~>=~ e.path and i.included_path ~<~ (e.path || '0')
      and (i.included_path = e.path or substr(i.included_path, length(e.path) + 1, 1) = '/')
    join groups a on a.id = i.group_id
),
-- every group at or above an effective one: their grants apply
anc(path) as (
  select array_to_string(p[1:n], '/') from eff,
    lateral string_to_array(eff.path, '/') p, lateral generate_series(1, cardinality(p)) n
),
gr(permission, role_id) as (
  select gg.permission, gg.role_id from group_grants gg
    where gg.path = any (array(select path from anc))
  union
  select gg.permission, gg.role_id from eff e join group_grants gg
    on gg.path ~>=~ (e.path || '/') and gg.path ~<~ (e.path || '0')
)
select 'u'::text as k, username as v from users where id = p_user and disabled_at is null
union all select 'g', path from eff
union all select 'p', permission from user_permissions where user_id = p_user
union all select 'p', rp.permission from user_roles ur
  join role_permissions rp on rp.role_id = ur.role_id where ur.user_id = p_user
union all select 'p', gr.permission from gr where gr.permission is not null
union all select 'p', rp.permission from gr join role_permissions rp on rp.role_id = gr.role_id;
end
$fn$;
