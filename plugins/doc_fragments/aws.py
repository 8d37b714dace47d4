# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # What every AWS module (and AWS action plugin) of the collection documents alike, attributes
    # included (so neither ansible.builtin.action_common_attributes nor its ACTIONGROUPS, whose
    # membership is [], is listed):
    #
    #   extends_documentation_fragment:
    #     - wedsync.platform.aws
    #     - amazon.aws.common.modules
    #     - amazon.aws.region.modules
    #     - amazon.aws.boto3
    #
    # plus amazon.aws.tags for a module with tags/purge_tags and wedsync.platform.wait for one with
    # wait/wait_timeout. The amazon.aws fragments stay listed in each module: ansible-core does not
    # follow extends_documentation_fragment inside a fragment.
    #
    # Attributes merge key by key and the module's own entry wins: a module restates an attribute
    # to add details (check_mode: details: ...) or to change it (diff_mode: support: full, for the
    # modules that change something; those that only read or wait support none).
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: N/A
    membership:
      - wedsync.platform.aws
author:
  - WedSync SRE (@wedsync)
"""
