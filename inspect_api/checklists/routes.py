"""Published checklist templates for phones (filled in by the checklists work)."""

from flask_smorest import Blueprint

blp = Blueprint("checklists", __name__, url_prefix="/checklists", description="检查表 Checklists")
