/**
 * The only columns of our tables that are NOT NULL without a database default:
 * the identity of a row, which no default could honestly supply. Primary keys
 * (serial) carry their own default. The schema doctor and the tests treat any
 * other NOT NULL column without a default as the incident's bug.
 */
export const IDENTITY_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  hedgehog_fabric: ['name'],
  hedgehog_resource: ['fabric_id', 'kind', 'name'],
  sync_operation: ['fabric_id'],
  state_transition: ['fabric_id', 'to_state'],
  fabric_crd_schema: ['fabric_id', 'kind', 'crd_name'],
};
