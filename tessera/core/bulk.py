"""Writes of many rows at once, for the jobs that touch thousands of them (a directory's sync)."""

from django.db import connections, router


def rows_update(model, rows, fields, *, batch_size: int = 1000) -> int:
    """Save `fields` of each row, by primary key, with one prepared UPDATE run for every row (executemany).

    What bulk_update does with a CASE per field and row, without building that SQL: thousands of rows in
    a fraction of the time. Like bulk_update it sends no signal; values go through each field's own
    preparation (JSON, dates, foreign keys), so every database gets what Django would write.
    """
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - names come from the model, values are parameters
        quote(meta.db_table),
        ", ".join(f"{quote(column.column)} = %s" for column in columns),
        quote(meta.pk.column),
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            cursor.executemany(
                sql,
                [
                    [column.get_db_prep_save(getattr(row, column.attname), connection) for column in columns]
                    + [row.pk]
                    for row in rows[start : start + batch_size]
                ],
            )
    return len(rows)
