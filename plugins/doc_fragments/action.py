# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The flow attributes of the collection's action plugins: each runs on the controller, once per
    # host, and not under async. Listed in place of ansible.builtin.action_common_attributes.flow,
    # whose attributes carry no support level.
    DOCUMENTATION = r"""
attributes:
  action:
    description:
      - Indicates this has a corresponding action plugin so some parts of the options can be executed on the
        controller.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description:
      - Forces a 'global' task that does not execute per host, this bypasses per host templating and serial,
        throttle and other loop considerations.
      - Conditionals will work as if C(run_once) is being used, variables used will be from the first available host.
      - This action will not work normally outside of lockstep strategies.
    support: none
"""
