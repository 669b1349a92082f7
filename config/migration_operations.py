"""Migration operations that act on PostgreSQL only, so the same migrations run on SQLite (the default)."""

from __future__ import annotations

from django.db.migrations.operations.base import Operation, OperationCategory


class AddIndexOnPostgreSQL(Operation):
    """``AddIndex`` for an index only PostgreSQL can build (a GIN trigram index), and nothing elsewhere.

    The index stays out of the models' ``Meta`` and the migration state on purpose: SQLite has no GIN and
    no operator classes, and Django would create every ``Meta`` index there too (also whenever SQLite
    rebuilds the table). PostgreSQL keeps the index through column type changes and renames by itself.
    """

    reversible = True
    reduces_to_sql = True
    category = OperationCategory.ADDITION

    def __init__(self, model_name: str, index) -> None:
        self.model_name = model_name
        self.index = index

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"model_name": self.model_name, "index": self.index}

    def state_forwards(self, app_label, state) -> None:
        pass  # see the class docstring: the state does not know this index

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if self._applies(schema_editor, model):
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if self._applies(schema_editor, model):
            schema_editor.remove_index(model, self.index)

    def _applies(self, schema_editor, model) -> bool:
        return schema_editor.connection.vendor == "postgresql" and self.allow_migrate_model(
            schema_editor.connection.alias, model
        )

    def describe(self) -> str:
        return f"Create index {self.index.name} on {self.model_name} (PostgreSQL only)"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name.lower()}_{self.index.name.lower()}"


class RemoveIndexOnPostgreSQL(AddIndexOnPostgreSQL):
    """The reverse of ``AddIndexOnPostgreSQL``: drop (and, going back, rebuild) a PostgreSQL-only index."""

    category = OperationCategory.REMOVAL

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        super().database_backwards(app_label, schema_editor, to_state, from_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        super().database_forwards(app_label, schema_editor, to_state, from_state)

    def describe(self) -> str:
        return f"Remove index {self.index.name} from {self.model_name} (PostgreSQL only)"
