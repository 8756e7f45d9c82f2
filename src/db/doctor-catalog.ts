/**
 * The schema doctor's view of every column in scope: nullability (the column's
 * own, or a domain's), defaults (the column's, or a domain's), keys, identity and
 * generated columns, and the base type under any domains (for type defaults).
 */
import type { RepairColumn } from './default-repair.js';

/** One column as the doctor's catalog query returns it. */
export interface CatalogColumn extends RepairColumn {
  not_null: boolean;
  default_expr: string | null;
  /** The nearest default of a domain the column's type is built on. */
  domain_default: string | null;
  /** The column's type is a domain. */
  is_domain: boolean;
  /** A domain in the type's chain says NOT NULL. */
  domain_not_null: boolean;
  domain_name: string | null;
  /** `schema.table` a foreign key of this column points to. */
  references_table: string | null;
  is_pk: boolean;
  is_identity: boolean;
  is_generated: boolean;
}

/** Parameters: schema, schema, table, table (null = all). */
export const CATALOG_SQL = `
select n.nspname as schema, c.relname as "table", a.attname as "column",
       format_type(a.atttypid, a.atttypmod) as type,
       a.attnotnull as not_null,
       pg_get_expr(d.adbin, d.adrelid) as default_expr,
       dom.domain_default,
       coalesce(dom.domain_not_null, false) as domain_not_null,
       coalesce(dom.is_domain, false) as is_domain,
       dom.domain_name,
       bt.typname as base_name, bt.typtype as base_kind, bt.typcategory as base_category,
       format_type(bt.oid, null) as base_type,
       (select e.enumlabel from pg_enum e where e.enumtypid = bt.oid order by e.enumsortorder limit 1) as first_label,
       (select format('%I.%I', rn.nspname, rc.relname)
          from pg_constraint k join pg_class rc on rc.oid = k.confrelid join pg_namespace rn on rn.oid = rc.relnamespace
         where k.conrelid = c.oid and k.contype = 'f' and a.attnum = any(k.conkey) limit 1) as references_table,
       exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary and a.attnum = any(i.indkey)) as is_pk,
       a.attidentity <> '' as is_identity,
       a.attgenerated <> '' as is_generated
  from pg_attribute a
  join pg_class c on c.oid = a.attrelid
  join pg_namespace n on n.oid = c.relnamespace
  -- The column's type through any domains: the nearest domain default, whether a
  -- domain says NOT NULL, and the base type underneath.
  left join lateral (
    with recursive chain(type_oid, depth) as (
      select a.atttypid, 0
      union all
      select t.typbasetype, chain.depth + 1 from chain join pg_type t on t.oid = chain.type_oid where t.typtype = 'd'
    )
    select bool_or(t.typtype = 'd') as is_domain,
           bool_or(t.typnotnull) as domain_not_null,
           (array_agg(t.typdefault order by chain.depth) filter (where t.typdefault is not null))[1] as domain_default,
           (array_agg(format_type(t.oid, null) order by chain.depth) filter (where t.typnotnull))[1] as domain_name,
           (array_agg(t.oid order by chain.depth desc))[1] as base_oid
      from chain join pg_type t on t.oid = chain.type_oid
  ) dom on true
  join pg_type bt on bt.oid = dom.base_oid
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
 where c.relkind in ('r', 'p') and not c.relispartition
   and a.attnum > 0 and not a.attisdropped
   and n.nspname not in ('pg_catalog', 'information_schema')
   and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
   and (?::text is null or n.nspname = ?::text)
   and (?::text is null or c.relname = ?::text)
 order by n.nspname, c.relname, a.attnum`;
