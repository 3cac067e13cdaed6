/** The canonical text form PostgreSQL's uuid type accepts: checked before a value reaches a uuid column. */
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuidShaped = (s: string): boolean => UUID_SHAPE.test(s);
