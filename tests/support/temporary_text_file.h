// A file with the given text, alone in a directory that lives as long as the object: the
// configuration files tests hand to the programs.
#pragma once

#include <QByteArray>
#include <QFile>
#include <QString>
#include <QTemporaryDir>

namespace vscard::test {

class TemporaryTextFile {
public:
    TemporaryTextFile(const QString& name, const QByteArray& text) : name_(name)
    {
        QFile file(path());
        if (file.open(QIODevice::WriteOnly))
            file.write(text);
    }
    QString path() const { return directory_.filePath(name_); }

private:
    QTemporaryDir directory_;
    QString name_;
};

} // namespace vscard::test
