"""Data migration helpers shared by the app's migrations and those of extending apps."""

from django.db.models import F, Value
from django.db.models.functions import Left, Right, StrIndex


def unpack_checksum_db(config_model):
    """
    Moves the packed ``checksum_db`` values of ``config_model`` (a historical
    model that has both the old and the new columns) into the plain columns,
    with one UPDATE per kind of value:

    * ``"<fingerprint>:<md5>"``: a stored rendering, valid for version 0;
    * ``"<status>!<md5>"``: an invalidated rendering (its former status is
      restored if the next rendering has the same md5).
    """
    manager = config_model._default_manager
    manager.filter(checksum_db__contains=":").update(
        rendered_fingerprint=Left("checksum_db", StrIndex("checksum_db", Value(":")) - 1),
        rendered_checksum=Right("checksum_db", 32),
        rendered_version=F("render_version"),
    )
    manager.filter(checksum_db__contains="!").update(
        restore_status=Left("checksum_db", StrIndex("checksum_db", Value("!")) - 1),
        rendered_checksum=Right("checksum_db", 32),
        rendered_version=None,
    )


def pack_checksum_db(config_model):
    """The reverse of ``unpack_checksum_db`` (pending invalidations stay pending)."""
    manager = config_model._default_manager
    for config in manager.exclude(rendered_checksum="").iterator():
        if config.rendered_version == config.render_version:
            value = f"{config.rendered_fingerprint}:{config.rendered_checksum}"
        else:
            value = f"{config.restore_status or config.status}!{config.rendered_checksum}"
        manager.filter(pk=config.pk).update(checksum_db=value)
