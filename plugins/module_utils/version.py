# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's version, for what it reports about itself (kept equal to galaxy.yml's)."""

from __future__ import annotations

COLLECTION_VERSION = "0.1.0"
