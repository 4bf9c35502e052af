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
  select a.path from eff e
    join group_includes i on i.included_path = e.path
      or (i.included_path ~>=~ (e.path || '/') and i.included_path ~<~ (e.path || '0'))
    join groups a on a.id = i.group_id
),
anc(path) as (
  select distinct array_to_string(p[1:n], '/') from eff,
    lateral string_to_array(eff.path, '/') p, lateral generate_series(1, cardinality(p)) n
),
gr(id) as (
  select gg.id from anc join group_grants gg on gg.path = anc.path
  union
  select gg.id from eff e join group_grants gg
    on gg.path ~>=~ (e.path || '/') and gg.path ~<~ (e.path || '0')
)
select 'u'::text as k, username as v from users where id = p_user and disabled_at is null
union all select 'g', path from eff
union all select 'p', permission from user_permissions where user_id = p_user
union all select 'p', rp.permission from user_roles ur
  join role_permissions rp on rp.role_id = ur.role_id where ur.user_id = p_user
union all select 'p', coalesce(gg.permission, rp.permission) from gr
  join group_grants gg on gg.id = gr.id
  left join role_permissions rp on rp.role_id = gg.role_id
  where gg.permission is not null or rp.permission is not null;
end
$fn$;
