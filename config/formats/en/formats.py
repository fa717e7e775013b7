# English pages keep the British formats Tessera has always shown ("25 Oct 2006", 25/10/2006 in forms):
# the language is "en", its dates and numbers those of en-GB.
from django.conf.locale.en_GB.formats import *  # noqa: F401,F403
