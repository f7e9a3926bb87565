"""``python -m promo`` is ``promo``."""

from promo.cli import main

if __name__ == "__main__":
    main()
