# bash completion for nsbox                                    -*- shell-script -*-
# Installed as share/bash-completion/completions/nsbox (cmake --install).
#
# The flags are those of the tables in src/cli/commands.cc, one line per command below:
# tests/unit/args_test.cc fails when a command or flag is missing here, or one is too many.

# _nsbox_flags COMMAND: set opts to the flags of COMMAND ('' for the global ones), vals to
# those of them that take a value.
_nsbox_flags() {
  case $1 in
    '') opts='--root --log --log-format --debug --systemd-cgroup --cni-config-dir -v --version -h --help' vals='--root --log --log-format --criu --rootless --cni-config-dir' ;;
    create) opts='-b --bundle --console-socket --pid-file --no-pivot --no-new-keyring --preserve-fds --network -p --publish --dns -h --help' vals='-b --bundle --console-socket --pid-file --preserve-fds --network -p --publish --dns' ;;
    start) opts='-h --help' vals='' ;;
    run) opts='-b --bundle --console-socket --pid-file --no-pivot --no-new-keyring --preserve-fds --network -p --publish --dns -d --detach --keep --no-subreaper -h --help' vals='-b --bundle --console-socket --pid-file --preserve-fds --network -p --publish --dns' ;;
    state) opts='-h --help' vals='' ;;
    kill) opts='-a --all -h --help' vals='' ;;
    stop) opts='-t --time -h --help' vals='-t --time' ;;
    console) opts='--log -h --help' vals='' ;;
    delete) opts='-f --force -h --help' vals='' ;;
    list) opts='-f --format -q --quiet -h --help' vals='-f --format' ;;
    spec) opts='-b --bundle --rootless --system --network -p --publish -h --help' vals='-b --bundle --network -p --publish' ;;
    exec) opts='-p --process -t --tty --console-socket -d --detach --pid-file --cwd -e --env -u --user -g --additional-gids -c --cap --no-new-privs --apparmor --process-label --preserve-fds --cgroup --ignore-paused -h --help' vals='-p --process --console-socket --pid-file --cwd -e --env -u --user -g --additional-gids -c --cap --apparmor --process-label --preserve-fds --cgroup' ;;
    ps) opts='-f --format -h --help' vals='-f --format' ;;
    pause) opts='-h --help' vals='' ;;
    resume) opts='-h --help' vals='' ;;
    update) opts='-r --resources --memory --memory-reservation --memory-swap --kernel-memory --kernel-memory-tcp --cpu-share --cpu-shares --cpu-quota --cpu-period --cpu-rt-runtime --cpu-rt-period --cpuset-cpus --cpuset-mems --pids-limit --blkio-weight --l3-cache-schema --mem-bw-schema -h --help' vals='-r --resources --memory --memory-reservation --memory-swap --kernel-memory --kernel-memory-tcp --cpu-share --cpu-shares --cpu-quota --cpu-period --cpu-rt-runtime --cpu-rt-period --cpuset-cpus --cpuset-mems --pids-limit --blkio-weight --l3-cache-schema --mem-bw-schema' ;;
    events) opts='--stats --interval -h --help' vals='--interval' ;;
    features) opts='-h --help' vals='' ;;
    network) opts='--subnet --gateway --bridge --no-nat --internal -f --format -q --quiet -h --help' vals='--subnet --gateway --bridge -f --format' ;;
    checkpoint) opts='--image-path --work-path --tcp-established --ext-unix-sk --shell-job --file-locks --manage-cgroups-mode --empty-ns --auto-dedup --lazy-pages --parent-path --leave-running --tcp-skip-in-flight --link-remap --page-server --status-fd --pre-dump --network-lock -h --help' vals='--image-path --work-path --manage-cgroups-mode --empty-ns --parent-path --page-server --status-fd --network-lock' ;;
    restore) opts='--image-path --work-path --tcp-established --ext-unix-sk --shell-job --file-locks --manage-cgroups-mode --empty-ns --auto-dedup --lazy-pages -b --bundle -d --detach --pid-file --console-socket --no-subreaper --no-pivot --no-new-keyring --tcp-close --parent-path --lsm-profile --lsm-mount-context -h --help' vals='--image-path --work-path --manage-cgroups-mode --empty-ns -b --bundle --pid-file --console-socket --parent-path --lsm-profile --lsm-mount-context' ;;
    help) opts='-h --help' vals='' ;;
    *) opts='' vals='' ;;
  esac
}

_nsbox_commands='create start run state kill stop console delete list spec exec ps pause resume update events features network checkpoint restore help'

# "-bundle", "--bundle" -> "--bundle"; "-b" -> "-b" (nsbox takes one or two dashes).
_nsbox_flag_name() {
  local n=${1#-}
  n=${n#-}
  n=${n%%=*}
  if ((${#n} == 1)); then echo "-$n"; else echo "--$n"; fi
}

_nsbox() {
  local cur=${COMP_WORDS[COMP_CWORD]} nsbox=${COMP_WORDS[0]}
  local cmd='' root='' npos=0 ended='' want='' i w f opts vals
  COMPREPLY=()
  # The words before the cursor: global flags, the command, its flags and arguments. `want`
  # is the flag whose value comes next ("--flag=value" may come split at the "="); `ended`
  # when no more flags of ours follow: after "--", and after the id of exec and ps.
  _nsbox_flags ''
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ $w == = ]]; then
      continue
    elif [[ -n $want ]]; then
      if [[ -z $cmd && $want == --root ]]; then root=$w; fi
      want=''
    elif [[ $w == -- && -z $ended ]]; then
      ended=1
    elif [[ $w == -?* && -z $ended ]]; then
      f=$(_nsbox_flag_name "$w")
      if [[ $w == *=?* ]]; then
        if [[ -z $cmd && $f == --root ]]; then root=${w#*=}; fi
      elif [[ " $vals " == *" $f "* ]]; then
        want=$f
      fi
    elif [[ -z $cmd ]]; then
      cmd=$w
      ended=''
      _nsbox_flags "$cmd"
    else
      npos=$((npos + 1))
      if [[ $cmd == exec || $cmd == ps ]]; then ended=1; fi
    fi
  done
  [[ $cur == = ]] && cur=''
  if [[ -z $want && $cur == -*=* ]]; then
    want=$(_nsbox_flag_name "$cur")
    cur=${cur#*=}
  fi

  local words=''
  if [[ -n $want ]]; then
    case $want in
      --root | --bundle | -b)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return ;;
      --log | --pid-file | --console-socket | --process | -p | --resources | -r)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return ;;
      --format | -f) words='table json' ;;
      --log-format) words='text json' ;;
      *) return ;;
    esac
  elif [[ $cur == -* && -z $ended ]]; then
    words=$opts
  elif [[ -z $cmd ]]; then
    words=$_nsbox_commands
  elif ((npos == 0)); then
    case $cmd in
      start | state | kill | stop | console | delete | exec | ps | pause | resume | update | events | checkpoint | restore)
        words=$("$nsbox" ${root:+--root "$root"} list -q 2>/dev/null) ;;
      help) words=$_nsbox_commands ;;
    esac
  elif [[ $cmd == kill && $npos == 1 ]]; then
    words=$(compgen -A signal)
    words="$words ${words//SIG/}"
  fi
  mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}

complete -F _nsbox nsbox
