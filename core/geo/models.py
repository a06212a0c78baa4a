"""Administrative units (province / district / commune), including retired ones."""
from __future__ import annotations

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db

LEVELS = ("province", "district", "commune")


class AdministrativeUnit(db.Model):
    __tablename__ = "administrative_unit"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    level: Mapped[str] = mapped_column(String(10), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("administrative_unit.code"), index=True)
    successor_code: Mapped[str | None] = mapped_column(ForeignKey("administrative_unit.code"), index=True)
    retired_on = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(String(500))

    parent = relationship("AdministrativeUnit", remote_side=[code], foreign_keys=[parent_code])
    successor = relationship("AdministrativeUnit", remote_side=[code], foreign_keys=[successor_code])

    @property
    def is_retired(self) -> bool:
        return self.retired_on is not None
