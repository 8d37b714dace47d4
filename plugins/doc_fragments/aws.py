# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # What every AWS module (and AWS action plugin) of the collection documents alike.
    #
    #   extends_documentation_fragment:
    #     - wedsync.platform.aws
    #     - amazon.aws.common.modules
    #     - amazon.aws.region.modules
    #     - amazon.aws.boto3
    #     - ansible.builtin.action_common_attributes
    #     - ansible.builtin.action_common_attributes.ACTIONGROUPS
    #
    # The amazon.aws and ansible.builtin fragments stay listed in each module: ansible-core does not
    # follow extends_documentation_fragment inside a fragment.
    #
    # Attributes merge key by key, and the first to set a key wins: the module's own entry, then the
    # fragments in the order listed. So list this one before ACTIONGROUPS, whose membership is [].
    # A module restates an attribute to add details (check_mode: support: full, details: ...).
    # diff_mode is not here: modules that only read or wait support none, the others full.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  platform:
    platforms: posix
  action_group:
    membership:
      - wedsync.platform.aws
author:
  - WedSync SRE (@wedsync)
"""
