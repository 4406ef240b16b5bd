#!/usr/bin/env python
from parcours.cli import main

if __name__ == "__main__":
    main()
