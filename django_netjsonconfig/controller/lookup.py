"""
``CompiledLookup``: the SELECT of one config by primary key that every device
poll starts with, compiled once by the ORM and replayed with a plain cursor.

Building the query costs more than running it, so the controller views whose
``compiled_lookup`` attribute is true (``BaseDeviceView``) read their config
through this class. It relies on parts of the ORM below the queryset API
(the SQL compiler, the database converters, ``Model.from_db``), which is why
it lives apart from the views.
"""

import uuid
import weakref

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.models.base import ModelState
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.http import Http404

from django_netjsonconfig.memory import open_memory


class CompiledLookup:
    """
    The SELECT of one config by primary key, compiled once by the ORM and then
    run with a plain cursor; rows are converted like the ORM converts them and
    returned as model instances (``Model.from_db``). Cached per view class,
    model, loaded columns and database.

    The rows read are remembered by the database connection
    (``django_netjsonconfig.memory``), which learns of every change to the
    table without a query: an unchanged config is then answered without
    asking the database at all.
    """

    _cache = {}

    def __init__(self, queryset):
        model = queryset.model
        self.model, self.db = model, queryset.db
        compiler = queryset.filter(pk=uuid.UUID(int=0)).query.get_compiler(using=self.db)
        self.sql, params = compiler.as_sql()
        if len(params) != 1:
            raise ValueError("the lookup must have the primary key as its only parameter")
        self.columns = [column for column, _sql, _alias in compiler.select]
        self.attnames = [column.target.attname for column in self.columns]
        self.pk_field = model._meta.pk
        self._converters = weakref.WeakKeyDictionary()
        # rows of a single table can be remembered between polls (see memory):
        # changes to that table are all the memory learns about
        tables = {join.table_name for join in compiler.query.alias_map.values()}
        self.rememberable = tables == {model._meta.db_table}
        # Model.from_db() runs Model.__init__ over every field; when neither
        # is customised and every loaded field is a plain attribute, the same
        # instance can be built directly (see instance())
        self.plain_model = (
            model.__init__ is models.Model.__init__
            and model.from_db.__func__ is models.Model.from_db.__func__
            and all(column.target.descriptor_class is DeferredAttribute for column in self.columns)
        )

    @classmethod
    def for_view(cls, view):
        """The lookup of ``view`` (``None`` when its queryset cannot be compiled this way)."""
        # every poll asks: without database routers the answer is the default database
        database = router.db_for_read(view.model) if router.routers else DEFAULT_DB_ALIAS
        only_fields = view.only_fields
        if type(only_fields) is not tuple:
            only_fields = tuple(only_fields)
        cache_key = (type(view), view.model, database, only_fields)
        try:
            return cls._cache[cache_key]
        except KeyError:
            pass
        try:
            lookup = cls(view.get_lookup_queryset())
        except (ValueError, AttributeError, TypeError):
            lookup = None
        cls._cache[cache_key] = lookup
        return lookup

    def get(self, pk):
        """The config with primary key ``pk``; ``Http404`` if missing or malformed."""
        value = self.parse_pk(pk)
        connection = connections[self.db]
        memory = open_memory(connection, self.model) if self.rememberable else None
        if memory is None:
            values = self.fetch(value, connection)
        else:
            values = memory.read(value, self, lambda: self.fetch(value, connection))
        if values is None:
            raise Http404("No such object")
        return self.instance(values)

    def fetch(self, pk, connection):
        """The converted column values of the row ``pk`` read from the database, ``None`` if there is none."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [self.pk_field.get_db_prep_value(pk, connection)])
            row = cursor.fetchone()
        return None if row is None else self._convert(row, connection)

    def parse_pk(self, pk):
        """``pk`` as the primary key field's Python value; ``Http404`` when malformed."""
        try:
            return self.pk_field.to_python(pk)
        except ValidationError as error:
            raise Http404("No such object") from error

    def instance(self, values):
        """
        The model instance of a row's ``values``, exactly as
        ``Model.from_db()`` builds it; directly when nothing can tell the
        difference (no ``pre_init``/``post_init`` receivers, see
        ``plain_model``), which costs a fraction.
        """
        model = self.model
        if not self.plain_model or pre_init.has_listeners(model) or post_init.has_listeners(model):
            return model.from_db(self.db, self.attnames, values)
        instance = model.__new__(model)
        instance.__dict__.update(zip(self.attnames, values, strict=True))
        state = instance._state = ModelState()
        state.adding, state.db = False, self.db
        return instance

    def _convert(self, row, connection):
        # the ORM's converters for each column (e.g. text to UUID on SQLite),
        # looked up once per connection
        converters = self._converters.get(connection)
        if converters is None:
            converters = self._converters[connection] = [
                (column, connection.ops.get_db_converters(column) + column.get_db_converters(connection))
                for column in self.columns
            ]
        values = []
        for value, (column, column_converters) in zip(row, converters, strict=True):
            for converter in column_converters:
                value = converter(value, column, connection)
            values.append(value)
        return tuple(values)
