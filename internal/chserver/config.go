package chserver

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
)

// layout is where a server keeps its files under DataDir.
type layout struct {
	dir        string // DataDir, absolute
	configFile string
	usersFile  string
	data       string // <path>
	tmp        string // <tmp_path>
	userFiles  string // <user_files_path>
	formats    string // <format_schema_path>
	logDir     string
	log        string
	errLog     string
	console    string // the process's stdout and stderr
}

func newLayout(dir string) layout {
	return layout{
		dir:        dir,
		configFile: filepath.Join(dir, "config.xml"),
		usersFile:  filepath.Join(dir, "users.xml"),
		data:       filepath.Join(dir, "data") + "/",
		tmp:        filepath.Join(dir, "tmp") + "/",
		userFiles:  filepath.Join(dir, "user_files") + "/",
		formats:    filepath.Join(dir, "format_schemas") + "/",
		logDir:     filepath.Join(dir, "log"),
		log:        filepath.Join(dir, "log", "clickhouse-server.log"),
		errLog:     filepath.Join(dir, "log", "clickhouse-server.err.log"),
		console:    filepath.Join(dir, "log", "console.log"),
	}
}

// The generated files are deliberately minimal and use only settings that
// ClickHouse 18.16 knows (an unknown setting in a users.xml profile stops
// 18.16). The root element is <yandex>, which current versions accept too.
// Listening is restricted to 127.0.0.1; there is no interserver port and
// no system log table, unless Options.QueryLog asks for system.query_log.
const configTemplate = `<?xml version="1.0"?>
<!-- Written by riskpipe (internal/chserver); rewritten at every start. -->
<yandex>
    <logger>
        <level>information</level>
        <log>%[1]s</log>
        <errorlog>%[2]s</errorlog>
        <size>10M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[3]d</tcp_port>
    <http_port>%[4]d</http_port>
    <path>%[5]s</path>
    <tmp_path>%[6]s</tmp_path>
    <user_files_path>%[7]s</user_files_path>
    <format_schema_path>%[8]s</format_schema_path>
    <users_config>%[9]s</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <max_concurrent_queries>64</max_concurrent_queries>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <max_server_memory_usage>2147483648</max_server_memory_usage>
    <!-- This start's marker: readiness is checked against it (Server.waitReady). -->
    <macros>
        <riskpipe_server>%[10]s</riskpipe_server>
    </macros>
    <!-- Parts replaced by a merge or mutation are removed from disk after
          10 s instead of 480 s, so a privacy deletion can prove no old part
          still holds the person (docs/privacy.md). -->
    <merge_tree>
        <old_parts_lifetime>10</old_parts_lifetime>
        <cleanup_delay_period>1</cleanup_delay_period>
    </merge_tree>
%[11]s</yandex>
`

// queryLogConfig turns on system.query_log (Options.QueryLog); the users'
// profile then sets log_queries. Both are known to 18.16.
const queryLogConfig = `    <query_log>
        <database>system</database>
        <table>query_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds>
    </query_log>
`

const usersXML = `<?xml version="1.0"?>
<!-- Written by riskpipe (internal/chserver): user "default", no password, loopback only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>1000000000</max_memory_usage>
            <!-- Idle connections notice a shutdown within this many seconds (default 10). -->
            <poll_interval>1</poll_interval>
%s        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`

// write creates the directories and writes config.xml and users.xml;
// marker is the value of the server's riskpipe_server macro.
func (l layout) write(tcpPort, httpPort int, marker string, queryLog bool) error {
	for _, d := range []string{l.dir, l.data, l.tmp, l.userFiles, l.formats, l.logDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	esc := func(s string) string {
		var b bytes.Buffer
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	logCfg, logProfile := "", ""
	if queryLog {
		logCfg, logProfile = queryLogConfig, "            <log_queries>1</log_queries>\n"
	}
	cfg := fmt.Sprintf(configTemplate,
		esc(l.log), esc(l.errLog), tcpPort, httpPort,
		esc(l.data), esc(l.tmp), esc(l.userFiles), esc(l.formats), esc(l.usersFile), esc(marker), logCfg)
	if err := os.WriteFile(l.configFile, []byte(cfg), 0o640); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.WriteFile(l.usersFile, []byte(fmt.Sprintf(usersXML, logProfile)), 0o640); err != nil {
		return fmt.Errorf("write users: %w", err)
	}
	return nil
}
