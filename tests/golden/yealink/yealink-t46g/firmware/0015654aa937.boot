#!version:1.0.0.1
## provd boot file for 0015654aa937: the common file first, so that the device file overrides it.
include:config "y000000000028.cfg"
include:config "0015654aa937.cfg"
overwrite_mode = 1
