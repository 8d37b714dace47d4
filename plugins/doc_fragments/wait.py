# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # wait and wait_timeout, alike in every module that waits. What a module waits for is in its
    # description; a module whose defaults differ restates only them:
    #
    #   options:
    #     wait:
    #       default: true
    #   extends_documentation_fragment:
    #     - wedsync.platform.wait
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Whether to wait until what the module does is done, as its description says, for at most
        O(wait_timeout) seconds.
    type: bool
    default: false
  wait_timeout:
    description:
      - How long, in seconds, the module waits in all, across every step of the task.
    type: int
    default: 300
"""
