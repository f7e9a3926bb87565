"""``python -m promo.manage.seed [FOLDER...]``: write the featurette clip into the seed (and ``examples/``).

Example: ``python -m promo.manage.seed promo/manage/seed examples``
"""

from __future__ import annotations

import sys
from pathlib import Path

from promo.manage.seed import write_clips

if __name__ == "__main__":
    write_clips([Path(arg) for arg in sys.argv[1:]] or [Path(__file__).resolve().parent])
