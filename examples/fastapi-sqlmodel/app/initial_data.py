"""Create the first superuser: `python -m app.initial_data` after migrating."""

import logging

from sqlmodel import Session

from app.core.db import engine, init_db

logger = logging.getLogger(__name__)


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    logger.info("Creating initial data")
    with Session(engine) as session:
        init_db(session)
    logger.info("Initial data created")


if __name__ == "__main__":
    main()
